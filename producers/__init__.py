"""Everything that creates BarClosed events: replay of recorded bars, and (later) the live streamer."""
