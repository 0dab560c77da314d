"""Fault registry: every catalogue row of issue 4's scope -> the tests that prove it.

The catalogue (faults.md, part b) numbers its rows for good; this maps rows
8-36 (transport ambiguity, exchange refusals, order races) and 45-53
(concurrency, life cycle, process) to pytest node ids. ``test_registry.py``
fails when a row has no entry, when an entry names a test that does not exist,
or when the rows whose tests are all expected failures (features not built
yet) drift from :data:`PLANNED`, which ``docs/failure-modes.md`` calls
"planned".

A node id without ``[...]`` stands for every parametrization of that test.
"""

from __future__ import annotations

from tests.registry_support import FaultRow

__all__ = ["PLANNED", "REGISTRY", "ROWS"]

#: The rows issue 4 is responsible for.
ROWS: tuple[int, ...] = (*range(8, 37), *range(45, 54))


_T = "tests/faults/test_rows_transport.py"
_R = "tests/faults/test_rows_rejections.py"
_X = "tests/faults/test_rows_races.py"
_L = "tests/faults/test_rows_lifecycle.py"
_RANDOM = "tests/faults/test_randomized.py::test_random_faults_then_heal"
_SIM = "tests/scenarios/test_sim_faults.py"
_E2E = "tests/scenarios/test_end_to_end.py"
_BEFORE_IO = f"{_E2E}::TestValidationBeforeIO::test_refused_with_zero_requests"

REGISTRY: dict[int, FaultRow] = {
    8: FaultRow(
        '503 "Unknown error" after the exchange applied the order: UNKNOWN, found, not resent',
        (
            f"{_T}::TestRow08AppliedThen503Unknown::"
            "test_resting_order_is_found_by_a_query_and_never_resent",
            f"{_T}::TestRow08AppliedThen503Unknown::test_market_order_that_filled_is_not_placed_twice",
            f"{_SIM}::TestAppliedButUnanswered::test_resting_limit[503unknown]",
            f"{_SIM}::TestAppliedButUnanswered::test_market_order_that_filled[503unknown]",
            f"{_E2E}::TestAmbiguity::test_applied_then_503_resolves_without_a_duplicate",
            _RANDOM,
        ),
    ),
    9: FaultRow(
        '503 "Unknown error" and the order never landed: absent only after the window',
        (f"{_T}::TestRow09NotAppliedThen503Unknown::test_absence_is_proven_only_after_the_window",),
    ),
    10: FaultRow(
        '503 "Service Unavailable." / -1001 "Internal error": not executed, resent, bounded',
        (
            f"{_T}::TestRow10DefinitiveServerRefusal::test_resent_re_signed_with_the_same_client_id",
            f"{_T}::TestRow10DefinitiveServerRefusal::test_attempts_are_bounded_then_the_refusal_is_final",
        ),
    ),
    11: FaultRow(
        "generic 500/502/504, HTML gateway page, 408: UNKNOWN for writes, retry for reads",
        (
            f"{_T}::TestRow11GenericServerErrors::test_placement_is_unknown_and_resolved",
            f"{_T}::TestRow11GenericServerErrors::test_idempotent_read_is_retried",
        ),
    ),
    12: FaultRow(
        "-1000 / -1006 / -1007 in a JSON body: execution status unknown",
        (
            f"{_T}::TestRow12ExecutionStatusUnknownCodes::test_applied_order_is_found",
            f"{_T}::TestRow12ExecutionStatusUnknownCodes::test_unapplied_order_is_not_assumed_failed_early",
        ),
    ),
    13: FaultRow(
        "read timeout after the exchange applied the order: engine deadline, UNKNOWN, found",
        (
            f"{_T}::TestRow13ReadTimeoutAfterWrite::test_engine_deadline_fires_then_the_order_is_found",
            f"{_SIM}::TestAppliedButUnanswered::test_resting_limit[delay]",
            _RANDOM,
        ),
    ),
    14: FaultRow(
        "connect error / connect timeout / pool timeout: NOT_SENT, resent, definitive when bounded",
        (
            f"{_T}::TestRow14ConnectFailure::test_resent_with_fresh_signature_and_same_id",
            f"{_T}::TestRow14ConnectFailure::test_a_persistent_failure_is_definitive_and_bounded",
            f"{_SIM}::TestNeverArrived::test_dropped_placement_is_retried_once",
            _RANDOM,
        ),
    ),
    15: FaultRow(
        "connection reset after the request was written: UNKNOWN, found, not resent",
        (
            f"{_T}::TestRow15ResetAfterWrite::test_unknown_and_resolved",
            f"{_SIM}::TestAppliedButUnanswered::test_resting_limit[lost]",
            f"{_SIM}::TestAppliedButUnanswered::test_market_order_that_filled[lost]",
            _RANDOM,
        ),
    ),
    16: FaultRow(
        "write error / write timeout part-way through the body, applied or not: UNKNOWN",
        (
            f"{_T}::TestRow16WriteErrorMidBody::test_applied_variant_is_found",
            f"{_T}::TestRow16WriteErrorMidBody::test_unapplied_variant_is_proven_absent_not_resent",
        ),
    ),
    17: FaultRow(
        "slow server (30 s): engine-owned deadline, other symbols keep flowing, reads retried",
        (
            f"{_T}::TestRow17SlowServer::test_other_symbols_keep_flowing",
            f"{_T}::TestRow17SlowServer::test_a_slow_read_is_retried_at_the_engine_deadline",
        ),
    ),
    18: FaultRow(
        "TLS handshake / certificate failure: NOT_SENT, bounded, nothing secret in the error",
        (f"{_T}::TestRow18TlsFailure::test_not_sent_bounded_and_never_lands",),
    ),
    19: FaultRow(
        "200 with an empty, HTML, truncated or null body: UNKNOWN for writes, retry for reads",
        (
            f"{_T}::TestRow19MalformedSuccessBody::test_placement_is_unknown_and_resolved",
            f"{_T}::TestRow19MalformedSuccessBody::test_a_read_with_a_truncated_body_is_retried",
            f"{_SIM}::TestAppliedButUnanswered::test_resting_limit[corrupt]",
        ),
    ),
    20: FaultRow(
        "2xx of the wrong shape (status, floats, missing id, other order, absurd quantities)",
        (
            f"{_T}::TestRow20WrongShapeSuccessBody::test_unusable_body_is_unknown_then_reconciled",
            f"{_T}::TestRow20WrongShapeSuccessBody::test_a_body_naming_another_order_never_updates_it",
            f"{_T}::TestRow20WrongShapeSuccessBody::test_impossible_quantities_are_not_trusted",
        ),
    ),
    21: FaultRow(
        "an answer for a request the engine already gave up on changes nothing",
        (
            f"{_T}::TestRow21AnswerAfterTheWorkerGaveUp::test_late_placement_answer_changes_nothing",
            f"{_T}::TestRow21AnswerAfterTheWorkerGaveUp::test_late_cancel_answer_changes_nothing",
        ),
    ),
    22: FaultRow(
        "-1021 clock skew: re-measure the server clock, resend once with the same client id",
        (
            f"{_R}::TestRow22ClockSkew::test_resynced_and_resent_once",
            f"{_SIM}::TestClockSkew::test_placement_survives_a_clock_jump",
        ),
    ),
    23: FaultRow(
        "-5028 outside the matching engine's recvWindow: not executed, resent once",
        (f"{_R}::TestRow23MatchingEngineWindow::test_resent_once_and_placed_once",),
    ),
    24: FaultRow(
        "-1111 / -1100 precision: fixed-point on the wire; a refusal is final, filters refresh",
        (
            f"{_R}::TestRow24Precision::test_numbers_go_out_fixed_point",
            f"{_R}::TestRow24Precision::test_a_precision_refusal_is_final",
            f"{_R}::TestRow24Precision::test_a_precision_refusal_refreshes_the_filters",
            f"{_BEFORE_IO}[exponent-qty]",
        ),
    ),
    25: FaultRow(
        "filter violations (lot size, market lot size, notional, tick, step, percent price)",
        (
            f"{_R}::TestRow25FiltersBeforeIO::test_market_orders_use_the_market_lot_size",
            f"{_R}::TestRow25FiltersBeforeIO::test_reduce_only_is_exempt_from_min_notional",
            f"{_R}::TestRow25FiltersBeforeIO::test_percent_price_band_is_refused_locally",
            f"{_BEFORE_IO}[below-min-qty]",
            f"{_BEFORE_IO}[off-step]",
            f"{_BEFORE_IO}[off-tick]",
            f"{_BEFORE_IO}[min-notional]",
        ),
    ),
    26: FaultRow(
        "-2019 margin insufficient: REJECTED at once, the strategy sees the code",
        (f"{_R}::TestRow26MarginInsufficient::test_rejected_at_once_with_the_code",),
    ),
    27: FaultRow(
        "-2022 reduce-only rejected: REJECTED at once, no retry loop",
        (
            f"{_R}::TestRow27ReduceOnlyRejected::"
            "test_rejected_at_once_when_there_is_nothing_to_reduce",
        ),
    ),
    28: FaultRow(
        "-2021 would immediately trigger; -4120 conditional types belong to the Algo API",
        (
            f"{_R}::TestRow28TriggerAndRouting::test_would_immediately_trigger_is_final",
            f"{_R}::TestRow28TriggerAndRouting::test_conditional_orders_never_use_the_classic_endpoint",
            f"{_R}::TestRow28TriggerAndRouting::test_a_routing_refusal_is_never_retried",
        ),
    ),
    29: FaultRow(
        "-4116 duplicated client order id: adopt the existing order, never fail the intent",
        (f"{_R}::TestRow29DuplicateClientOrderId::test_the_existing_order_is_adopted",),
    ),
    30: FaultRow(
        "-2015 / -2014 / -1022 bad key, permissions or signature: no retry, redacted, halt",
        (
            f"{_R}::TestRow30Credentials::test_start_up_stops_at_the_first_refusal",
            f"{_R}::TestRow30Credentials::test_a_revoked_key_refuses_the_order_once",
            f"{_R}::TestRow30Credentials::test_a_revoked_key_halts_trading",
        ),
    ),
    31: FaultRow(
        "-1121 invalid or non-TRADING symbol: refused locally, final, exchangeInfo refreshed",
        (
            f"{_R}::TestRow31SymbolNotTrading::test_an_exchange_refusal_is_final",
            f"{_R}::TestRow31SymbolNotTrading::test_a_refusal_refreshes_the_symbol_table",
            f"{_BEFORE_IO}[unknown-symbol]",
            f"{_BEFORE_IO}[lower-case-symbol]",
        ),
    ),
    32: FaultRow(
        "cancel answered -2011 because the order just filled: FILLED, one reply, never reopened",
        (
            f"{_X}::TestRow32FillRacingTheCancel::test_the_cancel_reports_the_fill",
            f"{_X}::TestRow32FillRacingTheCancel::test_a_lost_look_up_is_not_read_as_a_refused_cancel",
            f"{_X}::TestRow32FillRacingTheCancel::"
            "test_a_race_on_a_young_order_is_not_read_as_a_refused_cancel",
            f"{_X}::TestRow32FillRacingTheCancel::"
            "test_the_answer_is_terminal_even_when_the_first_look_up_is_lost",
            f"{_SIM}::TestFillRacingTheCancel::test_cancel_reports_the_fill",
            f"{_E2E}::TestRaces::test_cancel_after_fill_reports_filled",
            _RANDOM,
        ),
    ),
    33: FaultRow(
        "GET /order answers -2013 for an order that exists (query lag): not proof of absence",
        (
            f"{_X}::TestRow33QueryLag::test_lag_is_not_proof_of_absence",
            f"{_X}::TestRow33QueryLag::test_a_query_inside_the_lag_changes_nothing",
            f"{_SIM}::TestAppliedButUnanswered::test_unknown_then_query_lag",
            _RANDOM,
        ),
    ),
    34: FaultRow(
        'cancel answered 503 "Unknown error", reset or timeout: resolved, a resend is harmless',
        (f"{_X}::TestRow34CancelWithUnknownOutcome::test_resolved_to_the_exchange_state",),
    ),
    35: FaultRow(
        "partial fills, then cancel: CANCELED with the filled quantity, fill applied once",
        (f"{_X}::TestRow35PartialFillThenCancel::test_canceled_with_the_filled_quantity",),
    ),
    36: FaultRow(
        "modify (PUT /order) racing a fill: the exchange's quantities, no double count",
        (
            f"{_X}::TestRow36ModifyRacingAFill::test_modify_after_the_fill_reports_the_fill",
            f"{_X}::TestRow36ModifyRacingAFill::test_modify_after_a_partial_fill_keeps_the_fill",
        ),
    ),
    45: FaultRow(
        "strategy task cancelled while its order is in flight: the order settles anyway",
        (
            f"{_L}::TestRow45StrategyCancelledInFlight::test_the_order_settles_without_its_strategy",
            f"{_E2E}::TestAmbiguity::test_strategy_cancelled_mid_request_still_lands",
        ),
    ),
    46: FaultRow(
        "a symbol actor crashes: its requests answered UNKNOWN, it restarts, others continue",
        (
            f"{_L}::TestRow46ActorCrash::"
            "test_a_crashed_symbol_actor_is_restarted_and_others_continue",
        ),
    ),
    47: FaultRow(
        "many strategies on one symbol: serialised, replies never cross strategies",
        (f"{_L}::TestRow47ManyStrategiesOneSymbol::test_replies_never_cross_strategies",),
    ),
    48: FaultRow(
        "full queue or slow consumer: Overloaded before any I/O, events dropped and counted",
        (
            f"{_L}::TestRow48FullQueues::test_in_flight_bound_refuses_before_any_io",
            f"{_L}::TestRow48FullQueues::test_a_slow_subscriber_never_stalls_trading",
        ),
    ),
    49: FaultRow(
        "process killed with orders open and a placement in flight, then restarted",
        (
            f"{_L}::TestRow49ProcessKilled::"
            "test_restart_reconciles_before_strategies_and_never_resends",
            f"{_L}::TestRow49ProcessKilled::test_a_restart_never_reuses_a_client_order_id",
        ),
    ),
    50: FaultRow(
        "crash between sending and journaling: prevented by journaling first",
        (f"{_L}::TestRow50JournalBeforeSend::test_every_placement_is_journaled_before_it_is_sent",),
    ),
    51: FaultRow(
        "the host's wall clock steps (NTP): no -1021 storm, deadlines unchanged",
        (f"{_L}::TestRow51WallClockSteps::test_no_timestamp_storm_and_deadlines_unchanged",),
    ),
    52: FaultRow(
        "graceful shutdown with requests in flight: bounded drain, nothing leaks, all answered",
        (
            f"{_L}::TestRow52GracefulShutdown::test_drain_is_bounded_and_leaves_no_task",
            f"{_L}::TestRow52GracefulShutdown::test_every_request_in_flight_gets_one_answer",
            "tests/scenarios/test_deadman.py::TestHeartbeat::"
            "test_a_clean_shutdown_disarms_and_leaves_orders_open",
        ),
    ),
    53: FaultRow(
        "reconnect storm after an outage: jittered retries, 0 429/418, state reconciled",
        (
            f"{_L}::TestRow53StormAfterAnOutage::"
            "test_jittered_retries_no_throttling_and_consistent_state",
        ),
    ),
}

#: Rows whose every test is an expected failure: the feature is not built yet.
PLANNED: frozenset[int] = frozenset()
