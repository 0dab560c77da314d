"""Pure data and rules: attrs and the standard library only, no I/O.

Everything an actor or the simulated exchange needs to agree on lives here:
ids, enums, numbers, errors, error codes, filters, the order request, the order
state machine, the endpoint catalogue, wire parsing and the message catalogue.
"""

from .codes import ERROR_ACTIONS as ERROR_ACTIONS
from .codes import BinanceErrorCode as BinanceErrorCode
from .codes import ErrorAction as ErrorAction
from .codes import action_for as action_for
from .credentials import Credentials as Credentials
from .credentials import Secret as Secret
from .endpoints import ENDPOINTS as ENDPOINTS
from .endpoints import Endpoint as Endpoint
from .endpoints import Security as Security
from .endpoints import endpoint as endpoint
from .endpoints import endpoint_for as endpoint_for
from .enums import MarginType as MarginType
from .enums import OrderSide as OrderSide
from .enums import OrderStatus as OrderStatus
from .enums import OrderType as OrderType
from .enums import PositionSide as PositionSide
from .enums import ResponseType as ResponseType
from .enums import TimeInForce as TimeInForce
from .enums import WorkingType as WorkingType
from .errors import *  # noqa: F403 - the error tree is public as a whole
from .errors import __all__ as _errors_all
from .filters import DEFAULT_RATE_LIMITS as DEFAULT_RATE_LIMITS
from .filters import ExchangeInfo as ExchangeInfo
from .filters import LotSize as LotSize
from .filters import PercentPrice as PercentPrice
from .filters import PriceFilter as PriceFilter
from .filters import RateLimit as RateLimit
from .filters import SymbolRules as SymbolRules
from .ids import ClientOrderId as ClientOrderId
from .ids import Symbol as Symbol
from .ids import VenueOrderId as VenueOrderId
from .numbers import fmt as fmt
from .numbers import to_decimal as to_decimal
from .order_fsm import OrderEvent as OrderEvent
from .orders import OrderRequest as OrderRequest
from .wire import AccountInfo as AccountInfo
from .wire import Balance as Balance
from .wire import BookTicker as BookTicker
from .wire import Kline as Kline
from .wire import OrderBook as OrderBook
from .wire import Outcome as Outcome
from .wire import Position as Position
from .wire import PriceTicker as PriceTicker
from .wire import VenueOrder as VenueOrder

__all__ = sorted(
    [
        "AccountInfo",
        "Balance",
        "BinanceErrorCode",
        "BookTicker",
        "ClientOrderId",
        "Credentials",
        "DEFAULT_RATE_LIMITS",
        "ENDPOINTS",
        "ERROR_ACTIONS",
        "Endpoint",
        "ErrorAction",
        "ExchangeInfo",
        "Kline",
        "LotSize",
        "MarginType",
        "OrderBook",
        "OrderEvent",
        "OrderRequest",
        "OrderSide",
        "OrderStatus",
        "OrderType",
        "Outcome",
        "PercentPrice",
        "Position",
        "PositionSide",
        "PriceFilter",
        "PriceTicker",
        "RateLimit",
        "ResponseType",
        "Secret",
        "Security",
        "Symbol",
        "SymbolRules",
        "TimeInForce",
        "VenueOrder",
        "VenueOrderId",
        "WorkingType",
        "action_for",
        "endpoint",
        "endpoint_for",
        "fmt",
        "to_decimal",
        *_errors_all,
    ]
)
