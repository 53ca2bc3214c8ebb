"""Everything that reacts to events: strategies, the strategy consumer, execution and their stores."""
