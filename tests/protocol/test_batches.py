"""Batch calls: how orders are packed into requests, and how answers are read back."""

from __future__ import annotations

import json

import pytest

from trio_fapi.protocol.batches import (
    MAX_BATCH_CANCEL,
    MAX_BATCH_PLACE,
    batch_cancel_params,
    batch_items,
    batch_place_params,
    chunks,
)
from trio_fapi.protocol.errors import ExchangeRejected, ExchangeUnavailable
from trio_fapi.protocol.ids import ClientOrderId
from trio_fapi.protocol.orders import OrderRequest
from trio_fapi.protocol.wire import Outcome, classify

PATH = "/fapi/v1/batchOrders"


def limit(n: int) -> OrderRequest:
    """A LIMIT request whose price and id tell it apart from its neighbours."""
    return OrderRequest.limit("BTCUSDT", "BUY", "0.002", f"6000{n}.5", client_order_id=f"batch-{n}")


def ids(count: int) -> list[ClientOrderId]:
    return [ClientOrderId(f"cid-{n}") for n in range(count)]


class TestChunks:
    @pytest.mark.parametrize(
        ("length", "size", "sizes"),
        [
            (0, 5, []),
            (1, 5, [1]),
            (5, 5, [5]),
            (6, 5, [5, 1]),
            (12, 5, [5, 5, 2]),
            (20, 10, [10, 10]),
        ],
    )
    def test_consecutive_slices_of_at_most_size(
        self, length: int, size: int, sizes: list[int]
    ) -> None:
        items = list(range(length))
        out = list(chunks(items, size))
        assert [len(c) for c in out] == sizes
        assert [x for c in out for x in c] == items  # nothing lost, order kept


class TestBatchPlaceParams:
    def test_one_json_parameter_in_request_order(self) -> None:
        requests = [limit(n) for n in range(MAX_BATCH_PLACE)]
        params = batch_place_params(requests)
        assert list(params) == ["batchOrders"]
        items = json.loads(params["batchOrders"])
        assert items == [r.to_params() for r in requests]
        assert [i["newClientOrderId"] for i in items] == [f"batch-{n}" for n in range(5)]

    def test_numbers_stay_fixed_point_strings(self) -> None:
        (item,) = json.loads(batch_place_params([limit(1)])["batchOrders"])
        assert item["price"] == "60001.5"
        assert item["quantity"] == "0.002"

    def test_compact_json(self) -> None:
        assert " " not in batch_place_params([limit(1), limit(2)])["batchOrders"]

    @pytest.mark.parametrize("count", [0, MAX_BATCH_PLACE + 1])
    def test_size_is_one_to_five(self, count: int) -> None:
        with pytest.raises(ValueError):
            batch_place_params([limit(n) for n in range(count)])


class TestBatchCancelParams:
    def test_symbol_and_a_json_list_of_client_ids(self) -> None:
        params = batch_cancel_params("ETHUSDT", ids(MAX_BATCH_CANCEL))
        assert params["symbol"] == "ETHUSDT"
        assert json.loads(params["origClientOrderIdList"]) == [f"cid-{n}" for n in range(10)]
        assert " " not in params["origClientOrderIdList"]

    @pytest.mark.parametrize("count", [0, MAX_BATCH_CANCEL + 1])
    def test_size_is_one_to_ten(self, count: int) -> None:
        with pytest.raises(ValueError):
            batch_cancel_params("ETHUSDT", ids(count))


class TestBatchItems:
    def test_order_bodies_pass_through_errors_become_typed(self) -> None:
        order = {"orderId": 7, "clientOrderId": "a", "status": "NEW"}
        answer = [
            order,
            {"code": -2022, "msg": "ReduceOnly Order is rejected."},
            {"code": -1006, "msg": "An unexpected response was received."},
        ]
        first, refused, unknown = batch_items(answer, 3, path=PATH)
        assert first == order
        assert isinstance(refused, ExchangeRejected)
        assert (refused.code, refused.path) == (-2022, PATH)
        assert classify(refused) is Outcome.REJECTED
        assert isinstance(unknown, ExchangeUnavailable)
        assert unknown.code == -1006
        assert classify(unknown) is Outcome.UNKNOWN

    def test_an_order_body_carrying_a_code_is_still_an_order(self) -> None:
        order = {"code": 0, "orderId": 9, "clientOrderId": "b", "status": "NEW"}
        assert batch_items([order], 1, path=PATH) == [order]

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param([{"orderId": 1}], id="too-short"),
            pytest.param([{"orderId": 1}] * 3, id="too-long"),
            pytest.param({"orderId": 1}, id="not-a-list"),
            pytest.param(None, id="null"),
            pytest.param({"code": -1001, "msg": "x"}, id="call-level-error"),
        ],
    )
    def test_another_shape_is_never_guessed_at(self, payload: object) -> None:
        with pytest.raises(ValueError):
            batch_items(payload, 2, path=PATH)
