"""EventBridge's own envelope shape, so one handler accepts a local-bus event and a real EventBridge delivery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from events.models import BarClosed, Event
from events.trusted import trusted_model

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "local"


class Envelope(BaseModel):
    """`id`, `source`, `detail-type`, `time`, `detail`, `version` as EventBridge delivers them."""

    # built at first use, like the events': a replay wraps its events without validating or serializing them
    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    version: str = "0"
    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str = DEFAULT_ACCOUNT
    time: datetime
    region: str = DEFAULT_REGION
    resources: list[str] = Field(default_factory=list)
    detail: Event

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, serialize_as_any=True)


def wrap(event: Event, time: datetime | None = None, source: str | None = None) -> Envelope:
    """Put an event in its envelope without re-validating it (it is a trusted in-process object).

    `time` is the moment the fact became true (a bar's close, or the time of the event that
    caused this one); replays stay byte-identical because the wall clock is read only when no
    time is given.
    """
    return trusted_model(
        Envelope,
        {  # every field, in declaration order
            "version": "0",
            "id": event.event_id,
            "detail_type": type(event).__name__,
            "source": source or type(event).source,
            "account": DEFAULT_ACCOUNT,
            "time": time or datetime.now(tz=UTC),
            "region": DEFAULT_REGION,
            "resources": [],
            "detail": event,
        },
        _WRAPPED_FIELDS,
    )


_WRAPPED_FIELDS = frozenset({"id", "detail_type", "source", "time", "resources", "detail"})


def bar_envelope(bar: BarClosed) -> Envelope:
    """A bar in the envelope it travels in, stamped the moment it became a fact (its close), never by the wall
    clock: the local bus publishes it so, and a strategy function matches its pattern on it, so a pattern on
    `time` takes the same bars in replay, live and on Lambda."""
    return wrap(bar, bar.closed_at)


def time_of_ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
