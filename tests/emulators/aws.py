"""Wiring on moto's server that the tests share: an SQS queue behind an EventBridge rule or SNS filter."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from botocore.exceptions import ClientError

from events.bar_archive import PREFIX, decode_object, encode_line, span_key
from events.codec import from_dict
from events.envelope import Envelope
from events.minute_batches import batches_of
from events.models import BarClosed, BarsClosed


def queue_behind_rule(endpoint: str, bus_name: str, rule: str, pattern: Mapping[str, Any]) -> str:
    """An SQS queue receiving whatever `pattern` matches on `bus_name`; its URL."""
    events, sqs = client("events", endpoint), client("sqs", endpoint)
    url = sqs.create_queue(QueueName=f"{bus_name}-{rule}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=orjson.dumps(pattern).decode())
    events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def queue_behind_topic(
    endpoint: str, topic_arn: str, name: str, filter_policy: Mapping[str, Any], *, raw: bool = True
) -> str:
    """`raw=False` keeps SNS's notification JSON around the message, as a Lambda subscription receives it."""
    sns, sqs = client("sns", endpoint), client("sqs", endpoint)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": str(raw).lower(), "FilterPolicy": orjson.dumps(filter_policy).decode()}
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return str(url)


def drain(endpoint: str, queue_url: str, *, quiet_s: float = 1.0) -> list[dict[str, Any]]:
    """Every message body on the queue (deleted as read), once it has been quiet for `quiet_s`."""
    sqs = client("sqs", endpoint)
    bodies: list[dict[str, Any]] = []
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_s:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        for message in messages:
            bodies.append(orjson.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if messages:  # quiet counts from here: on a busy machine the deletes alone can take longer than quiet_s
            quiet_since = time.monotonic()
    return bodies


def envelopes_in(endpoint: str, queue_url: str) -> list[Envelope]:
    return [from_dict(body, f"sqs {queue_url}") for body in drain(endpoint, queue_url)]


def bars_in(envelopes: list[Envelope]) -> list[BarClosed]:
    """Every bar the `BarsClosed` batches among `envelopes` carry, in the order received."""
    return [bar for e in envelopes if isinstance(e.detail, BarsClosed) for bar in e.detail.bar_events()]


def archived_bars(endpoint: str, bucket: str) -> list[BarClosed]:
    """Every bar in the bucket's archive objects (`events.bar_archive`), object by object."""
    s3 = client("s3", endpoint)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    bars: list[BarClosed] = []
    for key in sorted(keys):
        for bar in decode_object(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), key):
            assert isinstance(bar, BarClosed), bar
            bars.append(bar)
    return bars


def client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")  # type: ignore[call-overload]


class FlakyClient:
    """A real client on moto with faults in front: `refuse(entries)` picks entries the service refuses
    (they are not forwarded, as when PutEvents reports them failed), `throttle` whole calls first."""

    def __init__(self, real: Any, refuse: Callable[[int, int], bool], throttle: int = 0) -> None:
        self.real = real
        self.refuse = refuse  # (call number, entry index) → refuse it?
        self.throttles_left = throttle
        self.calls = 0
        self.batch_sizes: list[int] = []

    def _throttled(self) -> None:
        if self.throttles_left:
            self.throttles_left -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Put")

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self._throttled()
        self.calls += 1
        self.batch_sizes.append(len(Entries))
        refused = {n for n in range(len(Entries)) if self.refuse(self.calls, n)}
        sent = [entry for n, entry in enumerate(Entries) if n not in refused]
        answers = iter(self.real.put_events(Entries=sent)["Entries"] if sent else [])
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} if n in refused else next(answers)
            for n in range(len(Entries))
        ]
        return {"FailedEntryCount": len(refused), "Entries": results}

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self._throttled()
        self.calls += 1
        entries = PublishBatchRequestEntries
        self.batch_sizes.append(len(entries))
        refused = [entry for n, entry in enumerate(entries) if self.refuse(self.calls, n)]
        sent = [entry for entry in entries if entry not in refused]
        answer = self.real.publish_batch(TopicArn=TopicArn, PublishBatchRequestEntries=sent) if sent else {}
        failed = [
            {"Id": e["Id"], "Code": "InternalError", "Message": "injected", "SenderFault": False} for e in refused
        ]
        return {"Successful": answer.get("Successful", []), "Failed": failed}


class SpanFiles:
    """The streamer's S3 side at its simplest, for tests that feed handlers directly: each span object
    rewritten with every batch written to it so far (events/bar_archive.py's layout)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket
        self.bodies: dict[str, bytes] = {}

    def write(self, bars: list[BarClosed], extra: bytes = b"") -> None:
        touched = set()
        for batch in batches_of(bars):
            key = span_key(batch.exchange, batch.timeframe, batch.open_time_ms)
            self.bodies[key] = self.bodies.get(key, b"") + encode_line(batch)
            touched.add(key)
        for key in sorted(touched):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=self.bodies[key] + extra)


class CountingS3:
    """A real S3 client (moto) that records the keys read with GetObject."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.gets: list[str] = []

    def get_object(self, **kwargs: Any) -> Any:
        self.gets.append(kwargs["Key"])
        return self.real.get_object(**kwargs)

    def get_paginator(self, name: str) -> Any:
        return self.real.get_paginator(name)
