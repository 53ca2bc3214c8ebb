"""The DynamoDB tables (consumers/stores/dynamodb.py's TABLES), named by the prefix and kept when the stack goes:
holdings outlive a stack deletion, and the next deploy adopts them (stds deploy imports existing resources)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb

from consumers.stores.dynamodb import TABLES, TableSpec
from infra.cdk.names import construct_id

_ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


def tables(stack: Stack, prefix: str) -> dict[str, dynamodb.Table]:
    """Every table by its role (`subaccounts`, `orders`, `processed`, `control`)."""
    return {spec.role: _table(stack, prefix, spec) for spec in TABLES}


def _table(stack: Stack, prefix: str, spec: TableSpec) -> dynamodb.Table:
    return dynamodb.Table(
        stack,
        f"{construct_id(spec.role)}Table",
        table_name=f"{prefix}{spec.role}",
        partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=spec.sort_key, type=_ATTRIBUTE_TYPES[spec.sort_type])
        if spec.sort_key
        else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=spec.ttl_attribute,
        removal_policy=RemovalPolicy.RETAIN,
    )
