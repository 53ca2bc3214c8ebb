"""Wiring: the `stds` command line, the embedded runtime (`local/`), the AWS side (`aws/` handlers and stores,
`cdk/` stack), the dashboard, reports, the cost model, and the configuration and strategy loading they share."""
