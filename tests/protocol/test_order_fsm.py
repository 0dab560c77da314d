"""The order lifecycle table: real-world edges, absorbing terminals, no guessing on UNKNOWN."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_fapi.protocol.enums import TERMINAL_STATUSES, OrderStatus
from trio_fapi.protocol.errors import EngineError, InvalidOrderTransition
from trio_fapi.protocol.order_fsm import OrderEvent, apply, can_apply

S = OrderStatus
E = OrderEvent

#: Events that are evidence of the order's state on the exchange.
EVIDENCE = frozenset(
    {E.ACCEPT, E.PARTIAL_FILL, E.FILL, E.CANCEL, E.EXPIRE, E.EXPIRE_IN_MATCH, E.REJECT}
)
#: Events that change what we know without new exchange evidence (and may leave UNKNOWN).
RESOLUTIONS = frozenset({E.ABSENCE_PROVEN, E.ESCALATE})
FILL_EVENTS = frozenset({E.PARTIAL_FILL, E.FILL})
OPEN = frozenset({S.NEW, S.PARTIALLY_FILLED})

ALL_EDGES = [
    (status, event) for status in OrderStatus for event in OrderEvent if can_apply(status, event)
]


def edge_id(edge: tuple[OrderStatus, OrderEvent]) -> str:
    return f"{edge[0].value}-{edge[1].value}"


class TestHappyPath:
    """A placement is accepted, filled, or refused as the exchange says."""

    @pytest.mark.parametrize(
        ("events", "expected"),
        [
            ([E.ACCEPT], S.NEW),
            ([E.ACCEPT, E.PARTIAL_FILL], S.PARTIALLY_FILLED),
            ([E.ACCEPT, E.PARTIAL_FILL, E.PARTIAL_FILL, E.FILL], S.FILLED),
            ([E.FILL], S.FILLED),
            ([E.REJECT], S.REJECTED),
            ([E.ACCEPT, E.CANCEL_REQUEST, E.CANCEL], S.CANCELED),
            ([E.ACCEPT, E.EXPIRE], S.EXPIRED),
            ([E.ACCEPT, E.PARTIAL_FILL, E.EXPIRE_IN_MATCH], S.EXPIRED_IN_MATCH),
            ([E.ACCEPT, E.AMEND], S.NEW),
        ],
        ids=lambda v: "+".join(e.value for e in v) if isinstance(v, list) else v.value,
    )
    def test_sequence(self, events: list[OrderEvent], expected: OrderStatus) -> None:
        status = S.PENDING_NEW
        has_fills = False
        for event in events:
            status = apply(status, event, has_fills=has_fills)
            has_fills = has_fills or event in FILL_EVENTS
        assert status is expected

    def test_late_accept_after_a_partial_fill_is_not_a_regression(self) -> None:
        assert apply(S.PARTIALLY_FILLED, E.ACCEPT, has_fills=True) is S.PARTIALLY_FILLED

    def test_amend_keeps_a_partially_filled_order_partially_filled(self) -> None:
        assert apply(S.PARTIALLY_FILLED, E.AMEND, has_fills=True) is S.PARTIALLY_FILLED


class TestTerminalStatusesAbsorb:
    """A terminal status never changes, whatever late evidence arrives."""

    @pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
    @pytest.mark.parametrize("event", list(OrderEvent), ids=lambda e: e.value)
    @pytest.mark.parametrize("has_fills", [False, True])
    def test_absorbs(self, status: OrderStatus, event: OrderEvent, has_fills: bool) -> None:
        if can_apply(status, event):
            assert apply(status, event, has_fills=has_fills) is status
        else:
            with pytest.raises(InvalidOrderTransition):
                apply(status, event, has_fills=has_fills)

    @pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
    def test_late_evidence_is_accepted(self, status: OrderStatus) -> None:
        for event in (E.ACCEPT, E.PARTIAL_FILL, E.FILL, E.CANCEL, E.EXPIRE, E.CANCEL_REJECT):
            assert apply(status, event, has_fills=True) is status

    @pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
    def test_cannot_cancel_or_reject_again(self, status: OrderStatus) -> None:
        assert not can_apply(status, E.CANCEL_REQUEST)
        assert not can_apply(status, E.ABSENCE_PROVEN)


class TestCancelRaces:
    """A cancel in flight ends as the exchange says: a racing fill wins, a refusal reopens."""

    def test_fill_racing_cancel_ends_filled(self) -> None:
        status = apply(S.NEW, E.CANCEL_REQUEST, has_fills=False)
        assert status is S.PENDING_CANCEL
        assert apply(status, E.FILL, has_fills=True) is S.FILLED

    def test_partial_fill_while_cancel_pending_keeps_waiting(self) -> None:
        assert apply(S.PENDING_CANCEL, E.PARTIAL_FILL, has_fills=True) is S.PENDING_CANCEL

    @pytest.mark.parametrize(
        ("has_fills", "expected"), [(False, S.NEW), (True, S.PARTIALLY_FILLED)]
    )
    def test_cancel_reject_reopens_by_fills(self, has_fills: bool, expected: OrderStatus) -> None:
        assert apply(S.PENDING_CANCEL, E.CANCEL_REJECT, has_fills=has_fills) is expected

    @pytest.mark.parametrize(
        ("event", "expected"),
        [(E.CANCEL, S.CANCELED), (E.EXPIRE, S.EXPIRED), (E.EXPIRE_IN_MATCH, S.EXPIRED_IN_MATCH)],
    )
    def test_cancel_pending_then_final(self, event: OrderEvent, expected: OrderStatus) -> None:
        assert apply(S.PENDING_CANCEL, event, has_fills=False) is expected

    def test_cancel_waits_for_the_placement_to_settle(self) -> None:
        """A cancel cannot start before the placement is settled, so REJECT never meets it."""
        assert not can_apply(S.PENDING_NEW, E.CANCEL_REQUEST)
        assert apply(S.PENDING_NEW, E.REJECT, has_fills=False) is S.REJECTED


class TestUnknownOutcome:
    """UNKNOWN is left only on evidence, proven absence, or escalation; never by assumption."""

    def test_placement_outcome_unknown(self) -> None:
        assert apply(S.PENDING_NEW, E.OUTCOME_UNKNOWN, has_fills=False) is S.UNKNOWN

    @pytest.mark.parametrize("status", [S.UNKNOWN, S.UNRESOLVED])
    @pytest.mark.parametrize("event", list(OrderEvent), ids=lambda e: e.value)
    def test_left_only_on_evidence(self, status: OrderStatus, event: OrderEvent) -> None:
        if not can_apply(status, event):
            assert event not in EVIDENCE
            return
        after = apply(status, event, has_fills=False)
        if after is not status:
            assert event in EVIDENCE | RESOLUTIONS

    @pytest.mark.parametrize("status", [S.UNKNOWN, S.UNRESOLVED])
    def test_more_doubt_changes_nothing(self, status: OrderStatus) -> None:
        assert apply(status, E.OUTCOME_UNKNOWN, has_fills=False) is status

    @pytest.mark.parametrize("status", [S.UNKNOWN, S.UNRESOLVED])
    def test_cannot_be_cancelled_or_amended_blind(self, status: OrderStatus) -> None:
        for event in (E.CANCEL_REQUEST, E.AMEND, E.CANCEL_REJECT):
            with pytest.raises(InvalidOrderTransition):
                apply(status, event, has_fills=False)

    def test_resolutions(self) -> None:
        assert apply(S.UNKNOWN, E.ESCALATE, has_fills=False) is S.UNRESOLVED
        assert apply(S.UNKNOWN, E.ABSENCE_PROVEN, has_fills=False) is S.REJECTED
        assert apply(S.UNRESOLVED, E.ABSENCE_PROVEN, has_fills=False) is S.REJECTED
        assert apply(S.UNKNOWN, E.ACCEPT, has_fills=False) is S.NEW
        assert apply(S.UNRESOLVED, E.FILL, has_fills=True) is S.FILLED


class TestInvalidTransitions:
    """An edge the table lacks raises InvalidOrderTransition, which is also a RuntimeError."""

    @pytest.mark.parametrize(
        ("status", "event"),
        [
            (S.FILLED, E.CANCEL_REQUEST),
            (S.CANCELED, E.REJECT),
            (S.NEW, E.ABSENCE_PROVEN),
            (S.NEW, E.REJECT),
            (S.PENDING_NEW, E.CANCEL_REJECT),
            (S.PENDING_NEW, E.ESCALATE),
            (S.UNKNOWN, E.CANCEL_REQUEST),
        ],
        ids=lambda v: v.value,
    )
    def test_raises(self, status: OrderStatus, event: OrderEvent) -> None:
        assert not can_apply(status, event)
        with pytest.raises(InvalidOrderTransition) as info:
            apply(status, event, has_fills=False)
        assert isinstance(info.value, RuntimeError)
        assert isinstance(info.value, EngineError)
        assert status.value in str(info.value)
        assert event.value in str(info.value)


class TestTableShape:
    """No edge leads back to PENDING_NEW, and every edge's target is a real status."""

    @pytest.mark.parametrize("edge", ALL_EDGES, ids=edge_id)
    def test_never_back_to_pending_new(self, edge: tuple[OrderStatus, OrderEvent]) -> None:
        for has_fills in (False, True):
            after = apply(*edge, has_fills=has_fills)
            assert isinstance(after, OrderStatus)
            assert after is not S.PENDING_NEW


class TestRandomHistories:
    """Random event streams, applied where the table allows, keep the lifecycle invariants."""

    @settings(max_examples=500)
    @given(
        start=st.sampled_from([S.PENDING_NEW, S.UNKNOWN, S.NEW, S.PENDING_CANCEL]),
        events=st.lists(st.sampled_from(OrderEvent), max_size=40),
    )
    def test_invariants(self, start: OrderStatus, events: list[OrderEvent]) -> None:
        status = start
        has_fills = False
        terminal: OrderStatus | None = None
        seen_open = False
        for event in events:
            if not can_apply(status, event):
                with pytest.raises(InvalidOrderTransition):
                    apply(status, event, has_fills=has_fills)
                continue
            before = status
            has_fills = has_fills or event in FILL_EVENTS
            status = apply(status, event, has_fills=has_fills)

            # Once terminal, always the same terminal status.
            if terminal is not None:
                assert status is terminal
            elif status.is_terminal:
                terminal = status
            # Nothing leads back to PENDING_NEW.
            assert status is not S.PENDING_NEW
            # UNKNOWN becomes REJECTED only through REJECT or ABSENCE_PROVEN.
            if before in (S.UNKNOWN, S.UNRESOLVED) and status is S.REJECTED:
                assert event in (E.REJECT, E.ABSENCE_PROVEN)
            # UNKNOWN is left only on evidence or an explicit resolution.
            if before is S.UNKNOWN and status is not S.UNKNOWN:
                assert event in EVIDENCE | RESOLUTIONS
            # An order seen open or filled is never declared rejected afterwards.
            seen_open = seen_open or before in OPEN or status in OPEN
            if seen_open or has_fills:
                assert status is not S.REJECTED or before is S.REJECTED
            # A reopened order is open according to its fills.
            if event is E.CANCEL_REJECT and not before.is_terminal:
                assert status is (S.PARTIALLY_FILLED if has_fills else S.NEW)
