"""How a sweep's items are dealt into batches for the workers: by span, even, never above the batch size, each batch
every count-th item of its span (neighbouring sets cost alike)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from infra.research.items import SweepItem
from infra.research.windows import Span
from infra.research.workers import batches


def items_on(spans: list[int]) -> list[SweepItem]:
    """`spans[i]` items on span i."""
    return [
        SweepItem(index, {"n": index}, Span(span * 10, span * 10 + 10))
        for span, count in enumerate(spans)
        for index in range(count)
    ]


def test_95_items_on_2_workers_are_four_even_batches() -> None:
    assert [len(b) for b in batches(items_on([95]), workers=2, batch=32)] == [24, 24, 24, 23]
    assert [len(b) for b in batches(items_on([95]), workers=1, batch=95)] == [95]
    assert [len(b) for b in batches(items_on([3]), workers=8, batch=32)] == [1, 1, 1]


def test_each_batch_takes_every_count_th_item() -> None:
    cut = batches(items_on([7]), workers=2, batch=4)
    assert [[item.set_index for item in part] for part in cut] == [[0, 2, 4, 6], [1, 3, 5]]


@given(st.lists(st.integers(1, 60), min_size=1, max_size=4), st.integers(1, 8), st.integers(1, 40))
def test_every_item_once_one_span_a_batch_none_too_big(spans: list[int], workers: int, batch: int) -> None:
    items = items_on(spans)
    cut = batches(items, workers=workers, batch=batch)
    assert sorted((item.span.start_ms, item.set_index) for part in cut for item in part) == [
        (item.span.start_ms, item.set_index) for item in items
    ]
    assert all(part == sorted(part, key=lambda item: item.set_index) for part in cut)  # in order within a batch
    assert all(len({item.span for item in part}) == 1 for part in cut)
    assert all(0 < len(part) <= batch for part in cut)
    for number, count in enumerate(spans):
        sizes = [len(part) for part in cut if part[0].span.start_ms == number * 10]
        assert max(sizes) - min(sizes) <= 1  # even
        assert len(sizes) % workers == 0 or len(sizes) == count  # every worker as busy, or one item a batch
