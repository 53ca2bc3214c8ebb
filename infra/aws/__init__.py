"""The AWS side: the same consumers behind DynamoDB stores, EventBridge/SNS buses and Lambda handlers."""
