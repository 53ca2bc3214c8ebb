"""The contract between producers and consumers: event models, envelope, codec, patterns and the bus port."""
