"""Parse what Binance sends into typed records; map error answers in one place.

Named constructors (``from_wire``) parse JSON once at the boundary; actors never
see camelCase dicts. :func:`exchange_error` and :func:`classify` are the one
mapping point from an HTTP answer to the error tree and to an outcome class.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import final

import attrs

from .codes import ErrorAction, action_for
from .enums import OrderSide, OrderStatus, OrderType, PositionSide, TimeInForce
from .errors import (
    EngineError,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
    InvalidNumber,
    IpBanned,
    RateLimited,
    UnknownSymbol,
)
from .ids import ClientOrderId, Symbol, VenueOrderId
from .numbers import parse_wire_amount, parse_wire_decimal

__all__ = [
    "AccountInfo",
    "Balance",
    "BookLevel",
    "BookTicker",
    "Kline",
    "MalformedResponse",
    "OrderBook",
    "Outcome",
    "Position",
    "PriceTicker",
    "VenueOrder",
    "classify",
    "exchange_error",
]

_ZERO = Decimal(0)


class Outcome(enum.Enum):
    """What one attempt of a request did (faults.md part b)."""

    NOT_SENT = "not_sent"  # provably never reached the exchange
    REJECTED = "rejected"  # a definitive refusal: not executed
    DONE = "done"  # a success body that parses
    UNKNOWN = "unknown"  # may have executed


@attrs.define(auto_exc=True, eq=False)
class MalformedResponse(EngineError):
    """A 2xx body that does not parse or does not match the request."""

    reason: str

    def __str__(self) -> str:
        return f"malformed response: {self.reason}"


def _obj(payload: object) -> Mapping[str, object]:
    if not isinstance(payload, Mapping):
        raise MalformedResponse(reason=f"expected an object, got {type(payload).__name__}")
    return payload


def _dec(payload: Mapping[str, object], key: str, default: str | None = None) -> Decimal:
    value = payload.get(key, default)
    if value is None:
        raise MalformedResponse(reason=f"missing {key}")
    try:
        return parse_wire_decimal(value, field=key)
    except InvalidNumber as exc:
        # The field and the reason, not the value: a hostile body's value can be huge.
        raise MalformedResponse(reason=f"{key}: {exc.reason}") from None


def _amount(payload: Mapping[str, object], key: str, default: str | None = None) -> Decimal:
    """A price or quantity of an order report: unsigned fixed-point text only.

    Binance prints these as plain strings, so exponent form, a sign, a JSON number
    or absurdly long text means the body is not a real report. The reason names
    the field and never repeats the value: it may be megabytes, and it is logged.
    """
    value = payload.get(key, default)
    if value is None:
        raise MalformedResponse(reason=f"missing {key}")
    try:
        return parse_wire_amount(value, field=key)
    except InvalidNumber as exc:
        raise MalformedResponse(reason=f"{key}: {exc.reason}") from None


def _int(payload: Mapping[str, object], key: str, default: int | None = None) -> int:
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedResponse(reason=f"{key} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise MalformedResponse(reason=f"{key} is not an integer") from None


def _status(payload: Mapping[str, object]) -> OrderStatus:
    raw = payload.get("status")
    if not isinstance(raw, str) or raw not in OrderStatus.__members__:
        raise MalformedResponse(reason=f"unknown status {raw!r}")
    status = OrderStatus(raw)
    if status.value in ("PENDING_NEW", "PENDING_CANCEL", "UNKNOWN", "UNRESOLVED"):
        raise MalformedResponse(reason=f"status {raw!r} is not an exchange status")
    return status


@final
@attrs.frozen(kw_only=True)
class VenueOrder:
    """An order as the exchange reports it (new, cancel, modify, query, lists)."""

    symbol: Symbol
    order_id: VenueOrderId
    client_order_id: str
    status: OrderStatus
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce | None
    price: Decimal
    orig_qty: Decimal
    executed_qty: Decimal
    avg_price: Decimal
    cum_quote: Decimal
    reduce_only: bool
    position_side: PositionSide
    update_time: int

    @classmethod
    def from_wire(cls, payload: object) -> VenueOrder:
        """Parse an order object.

        Prices and quantities must be unsigned fixed-point strings, and the
        executed quantity may not exceed the original: anything else is not a
        report Binance would send, and trusting it could record a fill that
        never happened (faults.md row 20).

        Raises:
            MalformedResponse: Missing fields, unknown enums, floats, exponent
                form, signs or overlong text for amounts, or executedQty above
                origQty.
        """
        p = _obj(payload)
        try:
            side = OrderSide(str(p.get("side")))
            order_type = OrderType(str(p.get("type")))
            position_side = PositionSide(str(p.get("positionSide", "BOTH")))
            tif_raw = p.get("timeInForce")
            tif = TimeInForce(str(tif_raw)) if tif_raw else None
        except ValueError as exc:
            raise MalformedResponse(reason=str(exc)) from None
        orig_qty = _amount(p, "origQty")
        executed = _amount(p, "executedQty")
        # closePosition orders may report origQty "0": they close whatever is open.
        if executed > orig_qty and not (orig_qty == 0 and p.get("closePosition") is True):
            # Fills only grow, so an impossible fill folded in once could never be undone.
            raise MalformedResponse(reason="executedQty is larger than origQty")
        cum_quote = _amount(p, "cumQuote", "0")
        avg = _amount(p, "avgPrice", "0")
        if avg == 0 and executed > 0 and cum_quote > 0:
            avg = cum_quote / executed
        client_id = p.get("clientOrderId")
        if not isinstance(client_id, str):
            raise MalformedResponse(reason="missing clientOrderId")
        symbol_raw = p.get("symbol")
        if not isinstance(symbol_raw, str):
            raise MalformedResponse(reason="missing symbol")
        try:
            symbol = Symbol(symbol_raw)
        except UnknownSymbol:
            # A bad symbol in an answer is a malformed answer, not a bad request.
            raise MalformedResponse(reason=f"bad symbol {symbol_raw!r}") from None
        return cls(
            symbol=symbol,
            order_id=VenueOrderId(_int(p, "orderId")),
            client_order_id=client_id,
            status=_status(p),
            side=side,
            order_type=order_type,
            time_in_force=tif,
            price=_amount(p, "price", "0"),
            orig_qty=orig_qty,
            executed_qty=executed,
            avg_price=avg,
            cum_quote=cum_quote,
            reduce_only=p.get("reduceOnly") is True,
            position_side=position_side,
            update_time=_int(p, "updateTime", 0),
        )

    def matches(self, client_order_id: ClientOrderId) -> bool:
        """Whether this report is about the order we sent with ``client_order_id``."""
        return self.client_order_id == client_order_id.value


@final
@attrs.frozen(kw_only=True)
class Position:
    """One row of positionRisk."""

    symbol: Symbol
    position_side: PositionSide
    amount: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    notional: Decimal
    leverage: int | None
    margin_type: str | None

    @classmethod
    def from_wire(cls, payload: object) -> Position:
        """Parse a positionRisk (v2 or v3) row."""
        p = _obj(payload)
        lev = p.get("leverage")
        mt = p.get("marginType")
        return cls(
            symbol=Symbol(str(p.get("symbol"))),
            position_side=PositionSide(str(p.get("positionSide", "BOTH"))),
            amount=_dec(p, "positionAmt"),
            entry_price=_dec(p, "entryPrice", "0"),
            mark_price=_dec(p, "markPrice", "0"),
            # positionRisk says unRealizedProfit; account v2/v3 rows say unrealizedProfit.
            unrealized_pnl=_dec(p, "unRealizedProfit", str(p.get("unrealizedProfit", "0"))),
            notional=_dec(p, "notional", "0"),
            leverage=int(str(lev)) if lev is not None else None,
            margin_type=str(mt) if mt is not None else None,
        )


@final
@attrs.frozen(kw_only=True)
class Balance:
    """One asset row of the futures balance."""

    asset: str
    balance: Decimal
    available_balance: Decimal
    cross_unrealized_pnl: Decimal

    @classmethod
    def from_wire(cls, payload: object) -> Balance:
        """Parse a balance (v2 or v3) row."""
        p = _obj(payload)
        return cls(
            asset=str(p.get("asset")),
            balance=_dec(p, "balance"),
            available_balance=_dec(p, "availableBalance", "0"),
            cross_unrealized_pnl=_dec(p, "crossUnPnl", "0"),
        )


@final
@attrs.frozen(kw_only=True)
class AccountInfo:
    """Account totals (v3) plus its balances and positions."""

    total_wallet_balance: Decimal
    total_unrealized_profit: Decimal
    total_margin_balance: Decimal
    available_balance: Decimal
    assets: tuple[Balance, ...]
    positions: tuple[Position, ...]

    @classmethod
    def from_wire(cls, payload: object) -> AccountInfo:
        """Parse ``GET /fapi/v3/account`` (or v2)."""
        p = _obj(payload)
        raw_assets = p.get("assets", [])
        raw_positions = p.get("positions", [])
        assets = tuple(
            Balance(
                asset=str(_obj(a).get("asset")),
                balance=_dec(_obj(a), "walletBalance", "0"),
                available_balance=_dec(_obj(a), "availableBalance", "0"),
                cross_unrealized_pnl=_dec(_obj(a), "unrealizedProfit", "0"),
            )
            for a in (raw_assets if isinstance(raw_assets, list) else [])
        )
        positions = tuple(
            Position.from_wire(row)
            for row in (raw_positions if isinstance(raw_positions, list) else [])
        )
        return cls(
            total_wallet_balance=_dec(p, "totalWalletBalance", "0"),
            total_unrealized_profit=_dec(p, "totalUnrealizedProfit", "0"),
            total_margin_balance=_dec(p, "totalMarginBalance", "0"),
            available_balance=_dec(p, "availableBalance", "0"),
            assets=assets,
            positions=positions,
        )


@final
@attrs.frozen(kw_only=True)
class BookLevel:
    """One price level of the order book."""

    price: Decimal
    quantity: Decimal


@final
@attrs.frozen(kw_only=True)
class OrderBook:
    """A depth snapshot, best levels first."""

    last_update_id: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    @classmethod
    def from_wire(cls, payload: object) -> OrderBook:
        """Parse ``GET /fapi/v1/depth``."""
        p = _obj(payload)

        def levels(key: str) -> tuple[BookLevel, ...]:
            raw = p.get(key, [])
            out = []
            for row in raw if isinstance(raw, list) else []:
                if not isinstance(row, Sequence) or len(row) < 2:
                    raise MalformedResponse(reason=f"bad {key} level")
                out.append(
                    BookLevel(
                        price=parse_wire_decimal(row[0], field="price"),
                        quantity=parse_wire_decimal(row[1], field="qty"),
                    )
                )
            return tuple(out)

        return cls(
            last_update_id=_int(p, "lastUpdateId", 0), bids=levels("bids"), asks=levels("asks")
        )


@final
@attrs.frozen(kw_only=True)
class BookTicker:
    """Best bid and ask."""

    symbol: Symbol
    bid_price: Decimal
    bid_qty: Decimal
    ask_price: Decimal
    ask_qty: Decimal

    @classmethod
    def from_wire(cls, payload: object) -> BookTicker:
        """Parse one ``bookTicker`` object."""
        p = _obj(payload)
        return cls(
            symbol=Symbol(str(p.get("symbol"))),
            bid_price=_dec(p, "bidPrice"),
            bid_qty=_dec(p, "bidQty"),
            ask_price=_dec(p, "askPrice"),
            ask_qty=_dec(p, "askQty"),
        )


@final
@attrs.frozen(kw_only=True)
class PriceTicker:
    """Last price of a symbol."""

    symbol: Symbol
    price: Decimal
    time: int

    @classmethod
    def from_wire(cls, payload: object) -> PriceTicker:
        """Parse one ``ticker/price`` object."""
        p = _obj(payload)
        return cls(
            symbol=Symbol(str(p.get("symbol"))), price=_dec(p, "price"), time=_int(p, "time", 0)
        )


@final
@attrs.frozen(kw_only=True)
class Kline:
    """One candlestick."""

    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    close_time: int
    quote_volume: Decimal
    trades: int

    @classmethod
    def from_wire(cls, row: object) -> Kline:
        """Parse one klines row (a 12-element array)."""
        if not isinstance(row, list) or len(row) < 9:
            raise MalformedResponse(reason="kline row is not a list of 12")

        def d(i: int) -> Decimal:
            return parse_wire_decimal(row[i], field=f"kline[{i}]")

        return cls(
            open_time=int(row[0]),
            open=d(1),
            high=d(2),
            low=d(3),
            close=d(4),
            volume=d(5),
            close_time=int(row[6]),
            quote_volume=d(7),
            trades=int(row[8]),
        )


# -- the one mapping point for error answers -------------------------------------------

_UNKNOWN_503 = "unknown error"


def exchange_error(
    http_status: int, body: bytes, *, path: str, retry_after: float | None = None
) -> ExchangeError:
    """Turn a non-2xx answer into the most specific :class:`ExchangeError`.

    The body may be Binance JSON (``{"code", "msg"}``), the 503 shape without a
    code, or HTML from a gateway; none of them crash this function. The message is
    truncated and never includes request data.
    """
    code: int | None = None
    msg = ""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, Mapping):
        raw_code = parsed.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        raw_msg = parsed.get("msg")
        msg = str(raw_msg) if raw_msg is not None else ""
    else:
        msg = body[:200].decode("utf-8", "replace").strip() or "(empty body)"
        if "<" in msg:
            msg = f"non-JSON body ({len(body)} bytes)"
    msg = msg[:300]
    if http_status == 429:
        return RateLimited(
            http_status=http_status, code=code, msg=msg, path=path, retry_after=retry_after
        )
    if http_status == 418:
        return IpBanned(
            http_status=http_status, code=code, msg=msg, path=path, retry_after=retry_after
        )
    if http_status >= 500 or http_status == 408:
        if http_status == 503 and _is_definitive_503(code, msg):
            return ExchangeRejected(http_status=http_status, code=code, msg=msg, path=path)
        return ExchangeUnavailable(http_status=http_status, code=code, msg=msg, path=path)
    if code is not None and action_for(code) is ErrorAction.UNKNOWN:
        return ExchangeUnavailable(http_status=http_status, code=code, msg=msg, path=path)
    return ExchangeRejected(http_status=http_status, code=code, msg=msg, path=path)


def _is_definitive_503(code: int | None, msg: str) -> bool:
    """503 variants that Binance documents as "not executed"."""
    lowered = msg.lower()
    if _UNKNOWN_503 in lowered:
        return False
    return (
        code in (-1008, -1001)
        or "service unavailable" in lowered
        or "internal error" in lowered
        or "throttled" in lowered
    )


def classify(error: ExchangeError) -> Outcome:
    """The outcome class of an exchange error answer.

    REJECTED means the exchange did not act; UNKNOWN means it may have.
    """
    if isinstance(error, ExchangeUnavailable):
        return Outcome.UNKNOWN
    return Outcome.REJECTED
