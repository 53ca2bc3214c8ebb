"""Everything that creates BarClosed events: the 24/7 streamer over exchange websockets (`streamer/`), the
exchanges' protocols (`exchanges/`), and replay of recorded bars from files (`replay/`)."""
