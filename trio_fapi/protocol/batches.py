"""Batch order calls: how items are packed into requests and read back.

``POST /fapi/v1/batchOrders`` takes at most 5 orders and ``DELETE
/fapi/v1/batchOrders`` at most 10 client ids; the exchange answers one item per
order, in order, each either an order object or ``{"code", "msg"}``. An item
error is classified like any other answer: a definitive refusal rejects that
item only, an "execution status unknown" code leaves it UNKNOWN.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from .errors import ExchangeError
from .ids import ClientOrderId
from .orders import OrderRequest
from .wire import exchange_error

__all__ = [
    "MAX_BATCH_CANCEL",
    "MAX_BATCH_PLACE",
    "batch_cancel_params",
    "batch_place_params",
    "batch_items",
    "chunks",
]

#: Orders per ``POST /fapi/v1/batchOrders``.
MAX_BATCH_PLACE = 5
#: Client ids per ``DELETE /fapi/v1/batchOrders``.
MAX_BATCH_CANCEL = 10

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_place_params(requests: Sequence[OrderRequest]) -> dict[str, str]:
    """The parameters of one batch placement (every request carries its client id)."""
    if not 1 <= len(requests) <= MAX_BATCH_PLACE:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH_PLACE} orders, not {len(requests)}")
    items = [request.to_params() for request in requests]
    return {"batchOrders": json.dumps(items, separators=(",", ":"))}


def batch_cancel_params(symbol: str, ids: Sequence[ClientOrderId]) -> dict[str, str]:
    """The parameters of one batch cancel by client order id."""
    if not 1 <= len(ids) <= MAX_BATCH_CANCEL:
        raise ValueError(f"a batch cancel holds 1 to {MAX_BATCH_CANCEL} ids, not {len(ids)}")
    listed = json.dumps([cid.value for cid in ids], separators=(",", ":"))
    return {"symbol": symbol, "origClientOrderIdList": listed}


def batch_items(payload: object, count: int, *, path: str) -> list[object | ExchangeError]:
    """Split a batch answer into ``count`` items: an order body or the item's error.

    An answer of another shape is never guessed at: the caller treats every
    item of the call as UNKNOWN when this raises.

    Raises:
        ValueError: The answer is not a list of ``count`` items.
    """
    if not isinstance(payload, list) or len(payload) != count:
        raise ValueError(f"a batch answer must be a list of {count} items")
    out: list[object | ExchangeError] = []
    for item in payload:
        if isinstance(item, Mapping) and "code" in item and "orderId" not in item:
            body = json.dumps({"code": item.get("code"), "msg": item.get("msg")}).encode()
            out.append(exchange_error(400, body, path=path))
        else:
            out.append(item)
    return out
