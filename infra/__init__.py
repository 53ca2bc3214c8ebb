"""Wiring: the embedded local runtime and CLI (and, later, the AWS CDK app)."""
