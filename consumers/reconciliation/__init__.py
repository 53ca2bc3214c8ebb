"""Reconciliation: does the exchange hold what the book says? Settle what the book missed, halt on the rest."""
