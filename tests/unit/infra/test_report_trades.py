"""The report's timestamps: a bar's open time to the second, in UTC."""

from __future__ import annotations

from infra.report.trades import iso_utc


def test_a_minute_bar_time_is_written_to_the_second() -> None:
    assert iso_utc(1_707_706_859_999) == "2024-02-12T03:00:59Z"


def test_the_epoch_and_a_leap_day_are_written_in_utc() -> None:
    assert iso_utc(0) == "1970-01-01T00:00:00Z"
    assert iso_utc(1_709_164_800_000) == "2024-02-29T00:00:00Z"
