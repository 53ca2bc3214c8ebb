"""`stds dashboard`: a live page over a state file (or the AWS tables) — holdings, PnL, fills, stream health."""
