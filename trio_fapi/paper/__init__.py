"""Paper trading: a broker on the simulated exchange's core, fed by real or replayed data.

Start with :class:`PaperBroker`: push market data into it (or attach a feed),
place orders, read the account, positions and PnL, and register fill and
order callbacks. To run the executor and its strategies unchanged on it, use
:func:`open_paper_venue` (or :attr:`PaperBroker.transport`). See
``docs/paper-trading.md``.
"""

from .account import PaperAccount as PaperAccount
from .account import PaperPosition as PaperPosition
from .account import PnL as PnL
from .broker import PaperBroker as PaperBroker
from .callbacks import FillCallback as FillCallback
from .callbacks import OrderCallback as OrderCallback
from .errors import InvalidMarketData as InvalidMarketData
from .errors import InvalidSetting as InvalidSetting
from .feeds import FundingFeed as FundingFeed
from .feeds import MarketFeed as MarketFeed
from .feeds import RandomWalkFeed as RandomWalkFeed
from .feeds import ReplayFeed as ReplayFeed
from .fees import FeeConfig as FeeConfig
from .latency import LatencyModel as LatencyModel
from .market_data import MarketData as MarketData
from .market_data import OrderBook as OrderBook
from .market_data import OrderBookLevel as OrderBookLevel
from .orders import PaperFill as PaperFill
from .orders import PaperOrder as PaperOrder
from .replay import PriceTick as PriceTick
from .replay import QuoteTick as QuoteTick
from .replay import parse_market_csv as parse_market_csv
from .replay import read_market_csv as read_market_csv
from .slippage import BookWalkSlippageModel as BookWalkSlippageModel
from .slippage import LinearSlippageModel as LinearSlippageModel
from .slippage import SlippageEstimate as SlippageEstimate
from .slippage import SlippageModel as SlippageModel
from .transport import PAPER_BASE_URL as PAPER_BASE_URL
from .transport import PaperTransport as PaperTransport
from .venue import PaperVenue as PaperVenue
from .venue import open_paper_venue as open_paper_venue

__all__ = [
    "BookWalkSlippageModel",
    "FeeConfig",
    "FillCallback",
    "FundingFeed",
    "InvalidMarketData",
    "InvalidSetting",
    "LatencyModel",
    "LinearSlippageModel",
    "MarketData",
    "MarketFeed",
    "OrderBook",
    "OrderBookLevel",
    "OrderCallback",
    "PAPER_BASE_URL",
    "PaperAccount",
    "PaperBroker",
    "PaperFill",
    "PaperOrder",
    "PaperPosition",
    "PaperTransport",
    "PaperVenue",
    "PnL",
    "PriceTick",
    "QuoteTick",
    "RandomWalkFeed",
    "ReplayFeed",
    "SlippageEstimate",
    "SlippageModel",
    "open_paper_venue",
    "parse_market_csv",
    "read_market_csv",
]
