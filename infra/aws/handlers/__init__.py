"""Lambda entry points: parse the EventBridge delivery, call the consumer logic the local runtime calls, publish."""
