"""What a route handler gets: the exchange, the parsed parameters and the time.

Handlers are plain functions ``(RouteContext) -> JSON value`` that raise
:class:`~trio_fapi.sim.errors.SimError` to refuse; the API does the rest
(weights, auth, headers, encoding, statistics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, final

import attrs

from .params import Params

if TYPE_CHECKING:
    from .api import SimRequest, SimulatedExchange

__all__ = ["Handler", "RouteContext", "Routes"]


@final
@attrs.frozen(kw_only=True)
class RouteContext:
    """One request as a handler sees it."""

    exchange: SimulatedExchange
    params: Params
    now_ms: int
    request: SimRequest


#: A route handler: returns the JSON body (dicts, lists, strings, ints, bools).
Handler = Callable[[RouteContext], object]
#: Handlers by (method, path).
Routes = dict[tuple[str, str], Handler]
