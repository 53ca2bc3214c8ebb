"""The portfolio ledger: what fills and closes did to each sub-account (cash, position, FIFO lots, realised and
unrealised PnL, fees by asset, round trips) and to the whole book over bars. Reports and the dashboard are views."""
