"""trio-fapi: a Trio-native, actor-model order execution engine for Binance USD-M Futures.

Start with :func:`open_executor` (or the :class:`ExchangeClient` facade), build
orders with :class:`OrderRequest`, and test against the simulated exchange in
:mod:`trio_fapi.sim`.
"""

from .actors.client import ExchangeClient as ExchangeClient
from .actors.executor import Executor as Executor
from .actors.executor import StrategyHandle as StrategyHandle
from .actors.executor import open_executor as open_executor
from .actors.retry import RetryPolicy as RetryPolicy
from .config import ExecutorConfig as ExecutorConfig
from .protocol.credentials import Credentials as Credentials
from .protocol.enums import MarginType as MarginType
from .protocol.enums import OrderSide as OrderSide
from .protocol.enums import OrderStatus as OrderStatus
from .protocol.enums import OrderType as OrderType
from .protocol.enums import PositionSide as PositionSide
from .protocol.enums import TimeInForce as TimeInForce
from .protocol.errors import EngineError as EngineError
from .protocol.errors import ExchangeError as ExchangeError
from .protocol.errors import InvalidOrder as InvalidOrder
from .protocol.errors import OutcomeUnknown as OutcomeUnknown
from .protocol.errors import Refused as Refused
from .protocol.ids import ClientOrderId as ClientOrderId
from .protocol.ids import Symbol as Symbol
from .protocol.messages import OrderSnapshot as OrderSnapshot
from .protocol.orders import OrderRequest as OrderRequest

__all__ = [
    "ClientOrderId",
    "Credentials",
    "EngineError",
    "ExchangeClient",
    "ExchangeError",
    "Executor",
    "ExecutorConfig",
    "InvalidOrder",
    "MarginType",
    "OrderRequest",
    "OrderSide",
    "OrderSnapshot",
    "OrderStatus",
    "OrderType",
    "OutcomeUnknown",
    "PositionSide",
    "Refused",
    "RetryPolicy",
    "StrategyHandle",
    "Symbol",
    "TimeInForce",
    "open_executor",
]
