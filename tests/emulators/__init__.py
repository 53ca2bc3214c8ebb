"""Real AWS emulators on 127.0.0.1 for the adapter tests: DynamoDB Local (AWS's own) and moto's server."""
