"""Fault registry for the user-data stream: catalogue rows 37-44 -> the tests that prove them.

faults.md (part b) numbers its rows for good. ``test_registry.py`` fails when
one of these rows has no entry, has no test that is expected to pass, or names
a test that pytest does not collect, and when a scenario in ``test_rows.py``
is missing from the registry.

A node id without ``[...]`` stands for every parametrization of that test.
"""

from __future__ import annotations

from tests.registry_support import FaultRow

__all__ = ["REGISTRY", "ROWS"]

#: The stream rows of the catalogue.
ROWS: tuple[int, ...] = tuple(range(37, 45))


_ROWS = "tests/stream/test_rows.py"
_RANDOM = "tests/stream/test_randomized.py::test_stream_and_rest_faults_then_heal"

REGISTRY: dict[int, FaultRow] = {
    37: FaultRow(
        "out-of-order ORDER_TRADE_UPDATE: applied by cumulative qty, status never regresses",
        (
            f"{_ROWS}::TestRow37Reordered::test_filled_before_partially_filled_and_new_after_trade",
            f"{_ROWS}::TestRow37Reordered::test_simulator_reorder_new_after_trade",
            _RANDOM,
        ),
    ),
    38: FaultRow(
        "duplicate events (same trade twice, replay after reconnect): fills counted once",
        (
            f"{_ROWS}::TestRow38Duplicated::test_every_event_twice",
            f"{_ROWS}::TestRow38Duplicated::test_replay_after_reconnect",
            f"{_ROWS}::TestRow38Duplicated::"
            "test_a_replayed_expiry_of_the_previous_key_changes_nothing",
            _RANDOM,
        ),
    ),
    39: FaultRow(
        "events lost while disconnected or dropped: reconcile after every reconnect, once",
        (
            f"{_ROWS}::TestRow39LostWhileDisconnected::"
            "test_fills_during_a_disconnect_are_recovered_once",
            f"{_ROWS}::TestRow39LostWhileDisconnected::"
            "test_dropped_events_are_recovered_after_the_next_reconnect",
            f"{_ROWS}::TestRow39LostWhileDisconnected::test_the_stream_works_again_after_the_resync",
            f"{_ROWS}::TestRow39LostWhileDisconnected::"
            "test_a_fill_the_stream_delivers_during_the_resync_is_not_recovered",
            _RANDOM,
        ),
    ),
    40: FaultRow(
        "listen key expiry (event, keep-alive -1125, silently invalid): new key, reconciled",
        (
            f"{_ROWS}::TestRow40ListenKeyExpiry::test_listen_key_expired_event",
            f"{_ROWS}::TestRow40ListenKeyExpiry::test_keepalive_answered_unknown_key",
            f"{_ROWS}::TestRow40ListenKeyExpiry::test_key_expired_while_disconnected",
            f"{_ROWS}::TestRow40ListenKeyExpiry::test_keepalive_is_not_starved_by_order_traffic",
            _RANDOM,
        ),
    ),
    41: FaultRow(
        "server close, 24 h cut, half-open silent socket: back-off, watchdog, reconcile",
        (
            f"{_ROWS}::TestRow41Disconnects::test_server_close_reconnects_with_backoff",
            f"{_ROWS}::TestRow41Disconnects::test_server_age_limit_disconnects",
            f"{_ROWS}::TestRow41Disconnects::test_engine_rotates_before_the_24_hour_cut",
            f"{_ROWS}::TestRow41Disconnects::test_half_open_socket_is_found_by_the_ping_watchdog",
            _RANDOM,
        ),
    ),
    42: FaultRow(
        "malformed or unknown-type stream frame: skipped and counted, the stream keeps working",
        (f"{_ROWS}::TestRow42BadFrames::test_skipped_counted_and_the_stream_keeps_working",),
    ),
    43: FaultRow(
        "event for an unknown client id (manual, other process, liquidation): external",
        (
            f"{_ROWS}::TestRow43ExternalOrders::test_never_reach_a_strategy_and_are_counted",
            f"{_ROWS}::TestRow43ExternalOrders::test_a_foreign_order_reusing_a_finished_id_is_not_ours",
        ),
    ),
    44: FaultRow(
        "a REST snapshot older than an applied stream fill never undoes it",
        (
            f"{_ROWS}::TestRow44StaleSnapshot::test_a_stale_query_does_not_undo_a_fill",
            f"{_ROWS}::TestRow44StaleSnapshot::test_a_stale_partial_query_does_not_undo_a_fill",
            f"{_ROWS}::TestRow44StaleSnapshot::"
            "test_a_stale_resync_snapshot_does_not_undo_a_partial_fill",
            f"{_ROWS}::TestRow44StaleSnapshot::test_a_query_inside_the_lag_does_not_undo_a_fill",
        ),
    ),
}
