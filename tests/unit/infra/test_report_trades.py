"""The report's timestamps: `iso_utc` caches each date and clock time, and must still write what datetime writes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from infra.report.trades import iso_utc


@given(st.integers(min_value=0, max_value=4_102_444_800_000))  # 1970 to 2100, at any ms
def test_iso_utc_is_the_datetime_formatting_with_ms_dropped(epoch_ms: int) -> None:
    expected = datetime.fromtimestamp(epoch_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso_utc(epoch_ms) == expected
    assert iso_utc(epoch_ms) == expected  # and again from the caches


def test_a_minute_bar_time_is_written_to_the_second() -> None:
    assert iso_utc(1_707_706_859_999) == "2024-02-12T03:00:59Z"
