"""The embedded runtime: producers and consumers wired on the in-process bus, state in SQLite or memory."""
