"""The weighted fair queue serves flows in proportion to their shares."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_fapi.protocol.fair_queue import FairQueue


def _serve(queue: FairQueue[str], n: int) -> list[str]:
    return [queue.pop().flow for _ in range(n)]


def test_equal_shares_alternate_whatever_the_backlog() -> None:
    queue: FairQueue[str] = FairQueue()
    for i in range(100):
        queue.push(f"a{i}", flow="a", cost=1, share=1)
    for i in range(3):
        queue.push(f"b{i}", flow="b", cost=1, share=1)
    # The flood queued first, yet b is served every other turn until it is empty.
    assert _serve(queue, 6) == ["a", "b", "a", "b", "a", "b"]
    assert _serve(queue, 3) == ["a", "a", "a"]


def test_twice_the_share_gets_twice_the_turns() -> None:
    queue: FairQueue[str] = FairQueue()
    for i in range(300):
        queue.push(str(i), flow="big", cost=1, share=2)
        queue.push(str(i), flow="small", cost=1, share=1)
    served = Counter(_serve(queue, 300))
    assert served == {"big": 200, "small": 100}


def test_cost_counts_against_the_flow() -> None:
    queue: FairQueue[str] = FairQueue()
    for i in range(50):
        queue.push(str(i), flow="batch", cost=5, share=1)
        queue.push(str(i), flow="single", cost=1, share=1)
    served = Counter(_serve(queue, 60))
    # Service in cost units is equal: 10 batches of 5 against 50 singles.
    assert served == {"batch": 10, "single": 50}


def test_an_idle_flow_is_not_owed_for_its_idle_time() -> None:
    queue: FairQueue[str] = FairQueue()
    for i in range(100):
        queue.push(str(i), flow="busy", cost=1, share=1)
    _serve(queue, 50)
    for i in range(100):
        queue.push(str(i), flow="late", cost=1, share=1)
    # The late flow shares from now on; it does not get 50 turns in a row.
    assert Counter(_serve(queue, 20)) == {"busy": 10, "late": 10}


def test_fifo_within_a_flow_and_withdrawn_entries_are_skipped() -> None:
    queue: FairQueue[str] = FairQueue()
    entries = [queue.push(str(i), flow="a", cost=1, share=1) for i in range(5)]
    queue.withdraw(entries[0])
    queue.withdraw(entries[3])
    assert len(queue) == 3
    assert [queue.pop().item for _ in range(3)] == ["1", "2", "4"]
    assert queue.peek() is None
    with pytest.raises(IndexError):
        queue.pop()


def test_drain_returns_every_live_entry_once() -> None:
    queue: FairQueue[str] = FairQueue()
    entries = [queue.push(str(i), flow=f"f{i % 3}", cost=1, share=1) for i in range(9)]
    queue.withdraw(entries[4])
    drained = sorted(e.item for e in queue.drain())
    assert drained == ["0", "1", "2", "3", "5", "6", "7", "8"]
    assert len(queue) == 0
    assert queue.depth_by_flow() == {}


def test_share_must_be_positive() -> None:
    with pytest.raises(ValueError, match="share"):
        FairQueue[str]().push("x", flow="a", cost=1, share=0)


@given(
    st.lists(
        st.tuples(st.sampled_from("abcde"), st.integers(1, 5), st.booleans()),
        min_size=1,
        max_size=200,
    )
)
def test_every_live_entry_is_served_exactly_once(ops: list[tuple[str, int, bool]]) -> None:
    queue: FairQueue[int] = FairQueue()
    live = set()
    for n, (flow, cost, withdraw) in enumerate(ops):
        entry = queue.push(n, flow=flow, cost=cost, share=1)
        if withdraw:
            queue.withdraw(entry)
        else:
            live.add(n)
    served = []
    while queue.peek() is not None:
        served.append(queue.pop().item)
    assert sorted(served) == sorted(live)
    assert len(queue) == 0
