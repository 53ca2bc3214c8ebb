"""Replay: recorded bars (Binance CSV, ccxt OHLCV CSV, recorded events) read, checked and merged in time order."""
