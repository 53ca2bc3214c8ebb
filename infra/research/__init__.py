"""Research: sweeps and walk-forward runs, each item exactly `stds replay` of one configuration."""
