"""The state consumers keep: bar history, the book (accounts and orders), processed ids, the kill switch."""
