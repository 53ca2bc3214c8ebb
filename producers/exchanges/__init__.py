"""Exchange protocol adapters: how to subscribe to 1-minute candles and read closed ones, per exchange."""
