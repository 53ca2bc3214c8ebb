"""Execution: risk checks, brokers and the consumer that turns OrderRequested into fills or rejects."""
