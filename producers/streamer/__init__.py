"""The 24/7 streamer: exchange websockets → closed bars → BarClosed, none lost, none doubled."""
