"""The endpoint catalogue: paths, routes and costs (binance-fapi.md section 2)."""

from __future__ import annotations

import json

import pytest

from trio_fapi.protocol.endpoints import ENDPOINTS, Endpoint, Security, endpoint, endpoint_for


class TestWeights:
    """Weights follow the documented tables, including the ones that depend on parameters."""

    @pytest.mark.parametrize(
        ("limit", "weight"), [(5, 2), (10, 2), (20, 2), (50, 2), (100, 5), (500, 10), (1000, 20)]
    )
    def test_depth_by_limit(self, limit: int, weight: int) -> None:
        assert endpoint("depth").weight({"symbol": "BTCUSDT", "limit": str(limit)}) == weight

    def test_depth_default_limit(self) -> None:
        assert endpoint("depth").weight({"symbol": "BTCUSDT"}) == 10

    @pytest.mark.parametrize(
        ("limit", "weight"),
        [(1, 1), (99, 1), (100, 2), (499, 2), (500, 5), (1000, 5), (1001, 10), (1500, 10)],
    )
    def test_klines_by_limit(self, limit: int, weight: int) -> None:
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": str(limit)}
        assert endpoint("klines").weight(params) == weight

    def test_klines_default_limit(self) -> None:
        assert endpoint("klines").weight({"symbol": "BTCUSDT", "interval": "1m"}) == 5

    @pytest.mark.parametrize(
        ("name", "with_symbol", "without"),
        [
            ("open_orders", 1, 40),
            ("open_algo_orders", 1, 40),
            ("ticker_24hr", 1, 40),
            ("book_ticker", 2, 5),
            ("ticker_price", 1, 2),
        ],
    )
    def test_with_and_without_symbol(self, name: str, with_symbol: int, without: int) -> None:
        assert endpoint(name).weight({"symbol": "BTCUSDT"}) == with_symbol
        assert endpoint(name).weight({}) == without

    @pytest.mark.parametrize(
        ("name", "weight"),
        [
            ("ping", 1),
            ("exchange_info", 1),
            ("cancel_order", 1),
            ("query_order", 1),
            ("position_mode", 30),
            ("countdown_cancel_all", 10),
            ("account", 5),
        ],
    )
    def test_flat(self, name: str, weight: int) -> None:
        assert endpoint(name).weight({"symbol": "BTCUSDT"}) == weight


class TestOrderCounts:
    """Order placements cost IP weight 0 and count against the ORDERS windows per order."""

    @pytest.mark.parametrize("name", ["new_order", "new_algo_order", "modify_order"])
    def test_single_order(self, name: str) -> None:
        ep = endpoint(name)
        assert ep.weight({"symbol": "BTCUSDT"}) == 0
        assert ep.order_count({"symbol": "BTCUSDT"}) == 1

    @pytest.mark.parametrize("name", ["batch_orders", "modify_batch_orders"])
    @pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
    def test_batch_counts_each_order(self, name: str, size: int) -> None:
        batch = [
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "quantity": "0.001",
                "price": "61250.10",
                "timeInForce": "GTC",
                "newClientOrderId": f"s.x:{i}/a_b-c",
            }
            for i in range(size)
        ]
        ep = endpoint(name)
        # Binance counts a batch as 5 in the 10 s window whatever its size.
        assert ep.order_count({"batchOrders": json.dumps(batch)}) == 5
        assert ep.weight({"batchOrders": json.dumps(batch)}) == 5

    @pytest.mark.parametrize("name", ["cancel_order", "query_order", "depth", "account"])
    def test_other_calls_cost_no_orders(self, name: str) -> None:
        assert endpoint(name).order_count({"symbol": "BTCUSDT"}) == 0


class TestCatalogue:
    """Every endpoint is a USD-M path, reachable by its route, and named once."""

    def test_new_order_route(self) -> None:
        ep = endpoint_for("POST", "/fapi/v1/order")
        assert ep is not None
        assert ep.name == "new_order"
        assert ep.signed
        assert ep.security is Security.SIGNED
        assert not ep.idempotent

    def test_method_is_case_insensitive(self) -> None:
        assert endpoint_for("post", "/fapi/v1/order") is endpoint("new_order")

    def test_unknown_route(self) -> None:
        assert endpoint_for("GET", "/api/v3/order") is None
        assert endpoint_for("PATCH", "/fapi/v1/order") is None

    def test_unknown_name_is_a_bug(self) -> None:
        with pytest.raises(KeyError):
            endpoint("new_orders")

    @pytest.mark.parametrize("ep", list(ENDPOINTS.values()), ids=lambda e: e.name)
    def test_each_endpoint(self, ep: Endpoint) -> None:
        assert ep.path.startswith("/fapi/")
        assert ep.method in {"GET", "POST", "PUT", "DELETE"}
        assert endpoint(ep.name) is ep
        assert endpoint_for(ep.method, ep.path) is ep
        assert ep.weight({}) >= 0
        assert ep.weight({"symbol": "BTCUSDT"}) >= 0
        if ep.method == "GET":
            assert ep.idempotent
        assert ep.security.needs_key is (ep.security is not Security.NONE)

    def test_user_stream_is_not_signed(self) -> None:
        for name in ("new_listen_key", "keepalive_listen_key", "close_listen_key"):
            ep = endpoint(name)
            assert ep.security is Security.USER_STREAM
            assert ep.security.needs_key
            assert not ep.signed

    def test_market_data_needs_no_key(self) -> None:
        assert not endpoint("depth").security.needs_key
