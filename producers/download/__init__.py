"""`stds download`: history from an exchange (its public archive, then REST) into Parquet files `stds replay` reads."""
