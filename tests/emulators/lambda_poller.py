"""What AWS does between a queue and a Lambda, done on moto: receive, invoke with the EventBridge payload, delete.

A handler that raises leaves its message on the queue: it comes back after the visibility timeout, as a
failed asynchronous invocation is retried. `duplicate` invokes every message twice (at-least-once
delivery); `workers` > 1 runs invocations concurrently, like parallel Lambda instances.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

ACCOUNT = "123456789012"
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"


@dataclass
class Poller:
    sqs: Any
    routes: dict[str, tuple[str, Handler]]  # queue URL → (function name, handler)
    duplicate: bool = False
    workers: int = 1
    sns: bool = False  # the queues hold SNS notifications: invoke with Lambda's SNS event shape
    max_receives: int = 3  # then the message goes to the dead letters, like a queue's redrive policy
    invocations: int = 0
    failures: list[str] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    _attempts: dict[str, int] = field(default_factory=dict)

    def run_until_quiet(self, quiet_s: float = 1.0, limit_s: float = 600) -> None:
        quiet_since = time.monotonic()
        deadline = time.monotonic() + limit_s
        with ThreadPoolExecutor(self.workers) as pool:
            while time.monotonic() - quiet_since < quiet_s:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"queues still busy after {limit_s}s")
                busy = False
                for url, (name, handler) in self.routes.items():
                    messages = self.sqs.receive_message(
                        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=2
                    ).get("Messages", [])
                    if not messages:
                        continue
                    busy = True
                    done = list(pool.map(lambda m, n=name, h=handler: self._invoke(n, h, m), messages))
                    handled = [m for m, ok in zip(messages, done, strict=True) if ok or self._exhausted(m)]
                    if handled:
                        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(handled)]
                        self.sqs.delete_message_batch(QueueUrl=url, Entries=entries)
                if busy:
                    quiet_since = time.monotonic()

    def _exhausted(self, message: dict[str, Any]) -> bool:
        attempts = self._attempts[message["MessageId"]] = self._attempts.get(message["MessageId"], 0) + 1
        if attempts < self.max_receives:
            return False
        self.dead_letters.append(orjson.loads(message["Body"]))
        return True

    def _invoke(self, name: str, handler: Handler, message: dict[str, Any]) -> bool:
        payload = orjson.loads(message["Body"])  # the EventBridge event, exactly as a Lambda target gets it
        if self.sns:
            payload = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": payload}]}
        else:
            payload.setdefault("account", ACCOUNT)  # real EventBridge always sends it; moto's SQS target omits it
        try:
            for _ in range(2 if self.duplicate else 1):
                self.invocations += 1
                handler(payload, LambdaContext(name))
        except Exception as error:
            self.failures.append(f"{name} {payload.get('id')}: {error!r}")
            return False
        return True
