"""A simulated Binance USD-M Futures exchange, in-process or on loopback HTTP.

The core (:class:`SimulatedExchange`) is pure: a seeded market, a ledger of
orders, fills and positions, rate limits and Binance's authentication, driven
by ``handle(request, now_ms)``. :func:`open_sim` runs it as an actor behind an
httpx transport (for tests on trio's virtual clock); :func:`serve_sim` serves
the same actor over loopback HTTP for third-party clients. Both take a
:class:`FaultPlan` (or its one-line form, :func:`parse_fault_spec`) to drop,
lose, delay or corrupt answers, skew the clock, lag queries and race fills.

Both also serve Binance's user-data stream from the ledger's own events: in
process through :attr:`SimHandle.stream_connector` (a
:class:`SimStreamConnector`, on virtual time) and over loopback WebSocket,
with stream faults (dropped, duplicated, reordered and delayed events,
disconnects, half-open silence, listen-key expiry). See docs/sim-user-stream.md.
"""

from .actor import SIM_BASE_URL as SIM_BASE_URL
from .actor import SIM_STREAM_URL as SIM_STREAM_URL
from .actor import SimHandle as SimHandle
from .actor import SimTransport as SimTransport
from .actor import open_sim as open_sim
from .algo import AlgoOrder as AlgoOrder
from .api import SimRequest as SimRequest
from .api import SimResponse as SimResponse
from .api import SimulatedExchange as SimulatedExchange
from .config import SimConfig as SimConfig
from .config import SymbolSpec as SymbolSpec
from .config import default_config as default_config
from .errors import SimError as SimError
from .fault_spec import FaultSpecError as FaultSpecError
from .fault_spec import format_fault_spec as format_fault_spec
from .fault_spec import parse_fault_spec as parse_fault_spec
from .faults import ORDER_ROUTES as ORDER_ROUTES
from .faults import SIGNED_ROUTES as SIGNED_ROUTES
from .faults import FaultKind as FaultKind
from .faults import FaultPlan as FaultPlan
from .faults import FaultStep as FaultStep
from .faults import InjectedFault as InjectedFault
from .injector import Severed as Severed
from .rates import BanPolicy as BanPolicy
from .records import Execution as Execution
from .records import OrderUpdate as OrderUpdate
from .records import SimOrder as SimOrder
from .server import serve_sim as serve_sim
from .stream_connector import SimStreamConnector as SimStreamConnector
from .user_stream import UserStreamStatistics as UserStreamStatistics

__all__ = [
    "AlgoOrder",
    "BanPolicy",
    "Execution",
    "FaultKind",
    "FaultPlan",
    "FaultSpecError",
    "FaultStep",
    "InjectedFault",
    "ORDER_ROUTES",
    "OrderUpdate",
    "SIGNED_ROUTES",
    "SIM_BASE_URL",
    "SIM_STREAM_URL",
    "Severed",
    "SimConfig",
    "SimError",
    "SimHandle",
    "SimOrder",
    "SimRequest",
    "SimResponse",
    "SimStreamConnector",
    "SimTransport",
    "SimulatedExchange",
    "SymbolSpec",
    "UserStreamStatistics",
    "default_config",
    "format_fault_spec",
    "open_sim",
    "parse_fault_spec",
    "serve_sim",
]
