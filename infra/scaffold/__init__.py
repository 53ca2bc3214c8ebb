"""`stds strategy add NAME`: a new strategy module, its test, and its one line of configuration."""
