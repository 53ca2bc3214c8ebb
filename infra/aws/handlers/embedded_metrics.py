"""CloudWatch's embedded metric format inside a handler's own log line, so an invocation writes one line.

The fields go beside the line's message; the `service` dimension is the field powertools' Logger already
writes, so the metrics are the ones powertools' `Metrics` would have put (namespace STDS, by service).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

NAMESPACE = "STDS"


def embedded_metrics(values: Mapping[str, tuple[float, str]]) -> dict[str, Any]:
    """`{"_aws": …, name: value, …}` for `values` of name → (value, unit), to merge into a JSON log line."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()],
                }
            ],
        },
        **{name: value for name, (value, _) in values.items()},
    }
