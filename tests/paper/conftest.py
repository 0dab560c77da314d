"""Fixtures for the paper broker: a still market at a known quote, on a known clock.

The default listing's BTCUSDT has a 0.10 tick, a 0.001 step and, on a still
market, 20 synthetic levels of exactly 2.000 BTC a tick apart behind the touch.
Fees are 2 bps maker and 5 bps taker, leverage is 20. Every case below is
computed by hand from those numbers.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from trio_fapi.paper import PaperBroker

T0 = 1_700_000_000_000
DATA = Path(__file__).parent / "data"
MAKER = Decimal("0.0002")
TAKER = Decimal("0.0005")


def new_broker(balance: str = "10000", **options: object) -> PaperBroker:
    """A broker on the default symbols whose clock starts at ``T0``."""
    return PaperBroker({"USDT": balance}, epoch_ms=T0, **options)  # type: ignore[arg-type]


def quote(broker: PaperBroker, bid: str = "60000.0", ask: str = "60000.1", **sizes: str) -> None:
    """Push a BTCUSDT quote whose last price is the bid."""
    broker.update_market_data("BTCUSDT", bid, ask, bid, "0", **sizes)


@pytest.fixture
def broker() -> PaperBroker:
    """A 10,000 USDT broker with BTCUSDT quoted 60000.0 / 60000.1."""
    b = new_broker()
    quote(b)
    return b
