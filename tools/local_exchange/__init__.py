"""A loopback exchange speaking Binance's websocket and REST protocols, fed from recorded bars, with faults."""
