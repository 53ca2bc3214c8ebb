"""A dead letter that cannot be written is kept whole in an error log line, and the writer never raises."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from events.dead_letters import DeadLetterFile


def test_a_dead_letter_file_that_cannot_be_written_logs_each_letter_whole_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # a file where the folder should be: fails for root too, unlike a read-only folder
    letters = DeadLetterFile(blocker / "dead-letters.jsonl")
    with caplog.at_level(logging.ERROR, logger="events.dead_letters"):
        letters.put("binance-0 (wss://stream)", "not JSON", '{"stream": oops')
        letters.put("binance-0 (wss://stream)", "not JSON", "second")
    assert (letters.count, letters.unwritten) == (2, 2)
    kept = [orjson.loads(record.getMessage().split("kept in this line: ", 1)[1]) for record in caplog.records]
    assert [(k["origin"], k["error"], k["payload"]) for k in kept] == [
        ("binance-0 (wss://stream)", "not JSON", '{"stream": oops'),
        ("binance-0 (wss://stream)", "not JSON", "second"),
    ]
    assert str(blocker / "dead-letters.jsonl") in caplog.records[0].getMessage()


def test_a_writable_dead_letter_file_gets_one_json_line_per_letter(tmp_path: Path) -> None:
    letters = DeadLetterFile(tmp_path / "deep" / "dead-letters.jsonl")
    letters.put("file.csv:3", "high < low", "1,2,3")
    letters.close()
    (line,) = (tmp_path / "deep" / "dead-letters.jsonl").read_text().splitlines()
    assert orjson.loads(line)["payload"] == "1,2,3" and letters.unwritten == 0
