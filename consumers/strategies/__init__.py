"""Strategies: pure functions from a window of recent bars to a target position."""
