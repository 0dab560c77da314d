"""Rows 8-21: transport and HTTP ambiguity.

The question every row here asks is the same: did the exchange act on the
request, and does the engine find out without sending it again? A placement
whose outcome is unknown must be resolved by evidence (a query by client order
id) and never resent, because a resend is how duplicate orders happen (I1). A
request that provably never arrived, or that the exchange refused without
acting, may be sent again with a fresh signature and the same client id.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
import trio
import trio.testing

from trio_fapi import OrderRequest, OrderStatus
from trio_fapi.protocol.errors import (
    ConnectionFailed,
    ExchangeRejected,
    ExchangeUnavailable,
    TransportFailed,
)
from trio_fapi.sim import FaultKind

from .support import (
    BOUND_S,
    BUSY_503,
    INTERNAL_503,
    NEW_ORDER,
    ORDER_PATH,
    UNKNOWN_503,
    Answer,
    Fail,
    Mutate,
    Rule,
    assert_engine_matches_ledger,
    assert_found_not_resent,
    assert_resent_once,
    binance_error,
    final_state,
    on_first,
    open_engine,
    place_failing,
    place_settled,
    record_events,
    resting_buy,
    with_fields,
)

PENDING_NEW, UNKNOWN, NEW = OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN, OrderStatus.NEW
REJECTED = OrderStatus.REJECTED
#: Placements get at most three attempts (docs/architecture.md, "Retrying what is safe").
PLACEMENT_ATTEMPTS = 3
POSITION_RISK = ("GET", "/fapi/v3/positionRisk")


def on_posts(action: Answer | Fail | Mutate, *, times: int = 1) -> tuple[Rule, ...]:
    """Script ``action`` onto the first ``times`` new-order requests."""
    return (Rule(action=action, method="POST", path=ORDER_PATH, times=times),)


class TestRow08AppliedThen503Unknown:
    """The exchange placed the order, then answered 503 "Unknown error"."""

    async def test_resting_order_is_found_by_a_query_and_never_resent(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 8: UNKNOWN, resolved by evidence to NEW; one POST, one ledger row (I1, I3, I8)."""
        async with (
            open_engine(plan=on_first(FaultKind.UNKNOWN_503)) as rig,
            record_events(rig.ex) as rec,
        ):
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_found_not_resent(rig, order, rec)

    async def test_market_order_that_filled_is_not_placed_twice(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 8: a filled MARKET order with an unknown answer is reported FILLED, once.

        The exchange refuses a reused client id only while the order is open, so
        a resend of a filled order would be a second position: the ledger must
        hold exactly one order and one fill for the intent.
        """
        async with open_engine(plan=on_first(FaultKind.UNKNOWN_503)) as rig:
            order = await place_settled(rig, OrderRequest.market("BTCUSDT", "BUY", "0.010"))
            assert order.status is OrderStatus.FILLED
            assert_engine_matches_ledger(rig.sim, order)
            (position,) = [p for p in await rig.ex.positions("BTCUSDT") if p.amount != 0]
            assert position.amount == Decimal("0.010")


class TestRow09NotAppliedThen503Unknown:
    """The exchange never placed the order, but answered 503 "Unknown error"."""

    @pytest.mark.parametrize(
        ("recv_window_ms", "query_lag_s"), [(5000, 3.0), (2000, 1.0)], ids=["default", "short"]
    )
    async def test_absence_is_proven_only_after_the_window(
        self,
        recv_window_ms: int,
        query_lag_s: float,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Row 9: "no such order" counts only after sent + recvWindow + query lag (I8).

        Before that instant the order may still reach the matching engine, so
        the engine keeps it UNKNOWN and keeps asking; after it, REJECTED with the
        ambiguous error. It never resends.
        """
        rules = on_posts(Answer(status=503, body=UNKNOWN_503, apply=False))
        async with (
            open_engine(rules=rules, recv_window_ms=recv_window_ms, query_lag_s=query_lag_s) as rig,
            record_events(rig.ex) as rec,
        ):
            await place_failing(rig, await resting_buy(rig.ex), ExchangeUnavailable)
            decided = trio.current_time()
            (post,) = rig.tap.requests(*NEW_ORDER)
            cid = post.client_order_id
            assert cid is not None
            assert decided >= post.time_s + recv_window_ms / 1000 + query_lag_s
            assert decided < post.time_s + rig.ex.config.unknown_resolution_s
            looked = [q for q in rig.tap.requests("GET", ORDER_PATH) if q.client_order_id == cid]
            assert len(looked) >= 2  # it asked before the deadline, and was not convinced
            assert rec.statuses(cid) == [PENDING_NEW, UNKNOWN, REJECTED]
            assert rig.ledger_rows(cid) == []


class TestRow10DefinitiveServerRefusal:
    """503 "Service Unavailable." and -1001 "Internal error": Binance says not executed."""

    @pytest.mark.parametrize(
        "body", [BUSY_503, INTERNAL_503], ids=["service-unavailable", "internal-error"]
    )
    async def test_resent_re_signed_with_the_same_client_id(
        self, body: bytes, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 10: REJECTED, so safe to resend: after a back-off, a fresh signature, one order."""
        rules = on_posts(Answer(status=503, body=body, apply=False))
        async with open_engine(rules=rules) as rig, record_events(rig.ex) as rec:
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert order.status is NEW
            first, second = assert_resent_once(rig, order)
            assert second.params["signature"] != first.params["signature"]
            assert int(second.params["timestamp"]) > int(first.params["timestamp"])
            assert second.time_s - first.time_s >= rig.ex.config.retry.wait_initial
            # Never UNKNOWN: a definitive refusal is not an ambiguity.
            assert rec.statuses(order.client_order_id.value) == [PENDING_NEW, NEW]

    async def test_attempts_are_bounded_then_the_refusal_is_final(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 10: a refusal that persists ends after a bounded number of attempts, REJECTED."""
        rules = on_posts(Answer(status=503, body=BUSY_503, apply=False), times=1000)
        async with open_engine(rules=rules) as rig:
            refusal = await place_failing(rig, await resting_buy(rig.ex), ExchangeRejected)
            assert refusal.http_status == 503
            assert rig.posts() == PLACEMENT_ATTEMPTS
            (cid,) = {s.client_order_id for s in rig.tap.requests(*NEW_ORDER)}
            assert cid is not None
            assert final_state(rig.ex, cid).status is REJECTED
            assert rig.ledger_rows(cid) == []


GATEWAY_ANSWERS = [
    (500, b'{"msg":"Request occur unknown error."}', "application/json"),
    (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
    (504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html"),
    (408, b"", "text/plain"),
]


class TestRow11GenericServerErrors:
    """Generic 5xx, HTML gateway pages and 408: the request may have executed."""

    @pytest.mark.parametrize(
        ("status", "body", "content_type"), GATEWAY_ANSWERS, ids=["500", "502", "504", "408"]
    )
    async def test_placement_is_unknown_and_resolved(
        self,
        status: int,
        body: bytes,
        content_type: str,
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Row 11: for a write, UNKNOWN (as row 8): found by a query, never resent."""
        answer = Answer(
            status=status, body=body, apply=True, headers={"Content-Type": content_type}
        )
        async with open_engine(rules=on_posts(answer)) as rig, record_events(rig.ex) as rec:
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_found_not_resent(rig, order, rec)

    async def test_idempotent_read_is_retried(self, autojump_clock: trio.testing.MockClock) -> None:
        """Row 11: a read that met a 502 page is simply asked again."""
        page = Answer(
            status=502,
            body=b"<html>502 Bad Gateway</html>",
            apply=True,
            headers={"Content-Type": "text/html"},
        )
        async with open_engine() as rig:
            await rig.ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "0.010"))
            rig.tap.script(Rule(action=page, method="GET", path=POSITION_RISK[1]))
            with trio.fail_after(BOUND_S):
                positions = await rig.ex.positions("BTCUSDT")
            assert [p.amount for p in positions if p.amount != 0] == [Decimal("0.010")]
            assert rig.tap.count(*POSITION_RISK) == 2


class TestRow12ExecutionStatusUnknownCodes:
    """-1000, -1006 and -1007 say in so many words: execution status unknown."""

    @pytest.mark.parametrize("code", [-1000, -1006, -1007])
    async def test_applied_order_is_found(
        self, code: int, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 12: the code makes the outcome UNKNOWN even on a 4xx; the query finds the order."""
        body = binance_error(code, "execution status unknown")
        answer = Answer(status=400, body=body, apply=True)
        async with open_engine(rules=on_posts(answer)) as rig, record_events(rig.ex) as rec:
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_found_not_resent(rig, order, rec)

    async def test_unapplied_order_is_not_assumed_failed_early(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 12: when it did not execute, the engine still waits for proof before REJECTED."""
        answer = Answer(status=400, body=binance_error(-1007, "timeout"), apply=False)
        async with open_engine(rules=on_posts(answer)) as rig:
            await place_failing(rig, await resting_buy(rig.ex), ExchangeUnavailable)
            (post,) = rig.tap.requests(*NEW_ORDER)
            config = rig.ex.config
            assert trio.current_time() >= (
                post.time_s + config.recv_window_ms / 1000 + config.query_lag_s
            )


class TestRow13ReadTimeoutAfterWrite:
    """The exchange applied the order and stalls its answer past the engine's deadline."""

    async def test_engine_deadline_fires_then_the_order_is_found(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 13: the engine's own deadline (not the answer) ends the wait; UNKNOWN, then NEW.

        With a single REST worker, a second placement going through before the
        stalled answer arrives proves the worker was freed at the deadline.
        """
        async with (
            open_engine(plan=on_first(FaultKind.DELAY, delay_s=30.0), rest_workers=1) as rig,
            record_events(rig.ex) as rec,
        ):
            order = await place_settled(rig, await resting_buy(rig.ex))
            (post,) = rig.tap.requests(*NEW_ORDER)
            answered = trio.current_time() - post.time_s
            assert rig.ex.config.request_timeout_s <= answered < 30.0
            assert rec.statuses(order.client_order_id.value) == [PENDING_NEW, UNKNOWN, NEW]
            assert_engine_matches_ledger(rig.sim, order)
            second = await rig.ex.place_order(await resting_buy(rig.ex, ticks=60))
            assert second.status is NEW
            assert trio.current_time() - post.time_s < 30.0  # before the stalled answer came
            assert rig.posts() == 2


class TestRow14ConnectFailure:
    """The request never left: connect error, connect timeout, pool timeout."""

    @pytest.mark.parametrize(
        "error",
        [
            lambda r: httpx.ConnectError("connection refused", request=r),
            lambda r: httpx.ConnectTimeout("connect timed out", request=r),
            lambda r: httpx.PoolTimeout("no connection available", request=r),
        ],
        ids=["connect-error", "connect-timeout", "pool-timeout"],
    )
    async def test_resent_with_fresh_signature_and_same_id(
        self,
        error: Callable[[httpx.Request], Exception],
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Row 14: NOT_SENT is safe to resend: same client id, new timestamp, one order."""
        async with open_engine(rules=on_posts(Fail(error=error, apply=False))) as rig:
            order = await place_settled(rig, await resting_buy(rig.ex))
            first, second = assert_resent_once(rig, order)
            assert int(second.params["timestamp"]) > int(first.params["timestamp"])

    async def test_a_persistent_failure_is_definitive_and_bounded(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 14: the strategy gets a definitive failure, after bounded attempts; nothing lands."""
        fail = Fail(error=lambda r: httpx.ConnectError("refused", request=r), apply=False)
        async with (
            open_engine(rules=on_posts(fail, times=1000)) as rig,
            record_events(rig.ex) as rec,
        ):
            await place_failing(rig, await resting_buy(rig.ex), ConnectionFailed)
            assert rig.posts() == PLACEMENT_ATTEMPTS
            (cid,) = {s.client_order_id for s in rig.tap.requests(*NEW_ORDER)}
            assert cid is not None
            assert rec.statuses(cid) == [PENDING_NEW, REJECTED]  # provably never sent
            assert rig.ledger_rows(cid) == []


class TestRow15ResetAfterWrite:
    """The connection died after the request was written; the exchange applied it."""

    @pytest.mark.parametrize(
        "error",
        [
            lambda r: httpx.ReadError("connection reset by peer", request=r),
            lambda r: httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=r
            ),
        ],
        ids=["read-error", "server-disconnected"],
    )
    async def test_unknown_and_resolved(
        self,
        error: Callable[[httpx.Request], Exception],
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Row 15: a reset cannot prove nothing arrived: UNKNOWN, found by a query, not resent."""
        async with (
            open_engine(rules=on_posts(Fail(error=error, apply=True))) as rig,
            record_events(rig.ex) as rec,
        ):
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_found_not_resent(rig, order, rec)


WRITE_ERRORS = [
    lambda r: httpx.WriteError("broken pipe", request=r),
    lambda r: httpx.WriteTimeout("write timed out", request=r),
]


class TestRow16WriteErrorMidBody:
    """The body was only partly written: the exchange may or may not have it."""

    @pytest.mark.parametrize("error", WRITE_ERRORS, ids=["write-error", "write-timeout"])
    async def test_applied_variant_is_found(
        self,
        error: Callable[[httpx.Request], Exception],
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Row 16: UNKNOWN (conservative); the exchange had it, so the query finds it."""
        async with open_engine(rules=on_posts(Fail(error=error, apply=True))) as rig:
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_found_not_resent(rig, order)

    @pytest.mark.parametrize("error", WRITE_ERRORS, ids=["write-error", "write-timeout"])
    async def test_unapplied_variant_is_proven_absent_not_resent(
        self,
        error: Callable[[httpx.Request], Exception],
        autojump_clock: trio.testing.MockClock,
    ) -> None:
        """Row 16: the exchange never had it: REJECTED only by proof of absence, never resent."""
        async with (
            open_engine(rules=on_posts(Fail(error=error, apply=False))) as rig,
            record_events(rig.ex) as rec,
        ):
            await place_failing(rig, await resting_buy(rig.ex), TransportFailed)
            (post,) = rig.tap.requests(*NEW_ORDER)
            cid = post.client_order_id
            assert cid is not None
            assert rec.statuses(cid) == [PENDING_NEW, UNKNOWN, REJECTED]
            assert rig.ledger_rows(cid) == []


class TestRow17SlowServer:
    """An answer that takes 30 s must not hold the engine hostage."""

    async def test_other_symbols_keep_flowing(self, autojump_clock: trio.testing.MockClock) -> None:
        """Row 17: one stalled BTCUSDT placement does not delay an ETHUSDT one (I11)."""
        plan = on_first(FaultKind.DELAY, symbol="BTCUSDT", delay_s=30.0)
        async with open_engine(plan=plan) as rig:
            slow = await resting_buy(rig.ex)
            fast = await resting_buy(rig.ex, symbol="ETHUSDT", qty="0.050")
            done: list[str] = []

            async def place_slow() -> None:
                await rig.ex.place_order(slow)
                done.append("BTCUSDT")

            with trio.fail_after(BOUND_S):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(place_slow)
                    await trio.testing.wait_all_tasks_blocked()
                    start = trio.current_time()
                    eth = await rig.ex.place_order(fast)
                    assert trio.current_time() - start < 1.0
                    assert done == []  # BTCUSDT is still waiting for its answer
            assert eth.status is NEW
            assert done == ["BTCUSDT"]
            assert rig.posts() == 2
            for order in rig.ex.orders():
                assert_engine_matches_ledger(rig.sim, order)

    async def test_a_slow_read_is_retried_at_the_engine_deadline(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 17: a read stalled past the deadline is asked again, not waited for."""
        plan = on_first(FaultKind.DELAY, *POSITION_RISK, delay_s=30.0)
        async with open_engine(plan=plan) as rig:
            start = trio.current_time()
            with trio.fail_after(BOUND_S):
                await rig.ex.positions("BTCUSDT")
            took = trio.current_time() - start
            assert rig.ex.config.request_timeout_s <= took < 30.0
            assert rig.tap.count(*POSITION_RISK) == 2


class TestRow18TlsFailure:
    """A TLS handshake or certificate failure happens before anything is sent."""

    async def test_not_sent_bounded_and_never_lands(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 18: NOT_SENT; bounded attempts, a definitive failure, no signature in its text."""
        tls = Fail(
            error=lambda r: httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", request=r
            ),
            apply=False,
        )
        async with open_engine(rules=on_posts(tls, times=1000)) as rig:
            failure = await place_failing(rig, await resting_buy(rig.ex), ConnectionFailed)
            assert rig.posts() == PLACEMENT_ATTEMPTS
            assert rig.sim.stats()["orders_accepted"] == 0
            for attempt in rig.tap.requests(*NEW_ORDER):
                assert attempt.params["signature"] not in str(failure)
                assert attempt.params["signature"] not in repr(failure)


class TestRow19MalformedSuccessBody:
    """A 200 whose body is not the order: empty, HTML, truncated, ``null``."""

    @pytest.mark.parametrize(
        "body",
        [b"", b"<html><body>OK</body></html>", b'{"orderId": 10000', b"null"],
        ids=["empty", "html", "truncated", "null"],
    )
    async def test_placement_is_unknown_and_resolved(
        self, body: bytes, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 19: the order may be live: UNKNOWN, then the query's report, no resend (I3)."""
        answer = Answer(status=200, body=body, apply=True)
        async with open_engine(rules=on_posts(answer)) as rig, record_events(rig.ex) as rec:
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_found_not_resent(rig, order, rec)

    async def test_a_read_with_a_truncated_body_is_retried(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 19: for a GET the body is simply fetched again."""
        async with open_engine(plan=on_first(FaultKind.CORRUPT, *POSITION_RISK)) as rig:
            with trio.fail_after(BOUND_S):
                await rig.ex.positions("BTCUSDT")
            assert rig.tap.count(*POSITION_RISK) == 2


def _no_order_id(payload: object) -> object:
    assert isinstance(payload, dict)
    return {k: v for k, v in payload.items() if k != "orderId"}


class TestRow20WrongShapeSuccessBody:
    """A well-formed 2xx that does not describe the order that was sent."""

    @pytest.mark.parametrize(
        "edit",
        [
            with_fields(status="SOMETHING_NEW"),
            with_fields(origQty=0.002, executedQty=0.0),
            _no_order_id,
        ],
        ids=["unknown-status", "float-quantities", "missing-order-id"],
    )
    async def test_unusable_body_is_unknown_then_reconciled(
        self, edit: Callable[[object], object], autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 20: nothing of the body is trusted; the query's report is (I3, I5)."""
        async with open_engine(rules=on_posts(Mutate(edit=edit))) as rig:
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_found_not_resent(rig, order)

    async def test_a_body_naming_another_order_never_updates_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 20: a report with another client id is not applied to that other order."""
        async with open_engine() as rig:
            first = await rig.ex.place_order(await resting_buy(rig.ex))

            def claims_first_filled(payload: object) -> object:
                assert isinstance(payload, dict)
                return {
                    **payload,
                    "clientOrderId": first.client_order_id.value,
                    "status": "FILLED",
                    "executedQty": payload["origQty"],
                    "cumQuote": "120.00",
                    "avgPrice": "60000.00",
                }

            rig.tap.script(*on_posts(Mutate(edit=claims_first_filled)))
            second = await place_settled(rig, await resting_buy(rig.ex, ticks=60))
            assert second.status is NEW
            assert_engine_matches_ledger(rig.sim, second)
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, first.client_order_id.value))
            assert final_state(rig.ex, first.client_order_id.value).status is NEW

    async def test_impossible_quantities_are_not_trusted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 20: an executed quantity beyond the order's, in exponent form, is malformed (I4)."""
        huge = Mutate(edit=with_fields(executedQty="1e999999"))
        async with open_engine(rules=on_posts(huge)) as rig:
            order = await place_settled(rig, await resting_buy(rig.ex))
            await trio.sleep(5)  # polling has had time to correct it
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, order.client_order_id.value))


class TestRow21AnswerAfterTheWorkerGaveUp:
    """An answer arrives for a request the engine already stopped waiting for."""

    async def test_late_placement_answer_changes_nothing(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 21: resolved by a query at the deadline; the late answer adds no event (I2, I3)."""
        async with (
            open_engine(plan=on_first(FaultKind.DELAY, delay_s=12.0)) as rig,
            record_events(rig.ex) as rec,
        ):
            order = await place_settled(rig, await resting_buy(rig.ex))
            await trio.sleep(20)  # the stalled answer has arrived by now
            cid = order.client_order_id.value
            assert rec.statuses(cid) == [PENDING_NEW, UNKNOWN, NEW]
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, cid))
            assert rig.posts() == 1

    async def test_late_cancel_answer_changes_nothing(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 21: a cancel whose answer came late is settled once, as CANCELED."""
        async with open_engine() as rig, record_events(rig.ex) as rec:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            rig.sim.set_faults(on_first(FaultKind.DELAY, "DELETE", delay_s=12.0))
            with trio.fail_after(BOUND_S):
                canceled = await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            await trio.sleep(20)
            cid = order.client_order_id.value
            assert canceled.status is OrderStatus.CANCELED
            assert rec.statuses(cid).count(OrderStatus.CANCELED) == 1
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, cid))
