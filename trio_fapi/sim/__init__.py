"""A simulated Binance USD-M Futures exchange, in-process or on loopback HTTP.

The core (:class:`SimulatedExchange`) is pure: a seeded market, a ledger of
orders, fills and positions, rate limits and Binance's authentication, driven
by ``handle(request, now_ms)``. :func:`open_sim` runs it as an actor behind an
httpx transport (for tests on trio's virtual clock); :func:`serve_sim` serves
the same actor over loopback HTTP for third-party clients.
"""

from .actor import SIM_BASE_URL as SIM_BASE_URL
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
from .records import Execution as Execution
from .records import OrderUpdate as OrderUpdate
from .records import SimOrder as SimOrder
from .server import serve_sim as serve_sim

__all__ = [
    "AlgoOrder",
    "Execution",
    "OrderUpdate",
    "SIM_BASE_URL",
    "SimConfig",
    "SimError",
    "SimHandle",
    "SimOrder",
    "SimRequest",
    "SimResponse",
    "SimTransport",
    "SimulatedExchange",
    "SymbolSpec",
    "default_config",
    "open_sim",
    "serve_sim",
]
