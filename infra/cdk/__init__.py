"""The AWS CDK v2 app: one stack deploying the bus, the tables and one function per configured strategy."""
