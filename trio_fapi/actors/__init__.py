"""Trio shells: the rate limiter, the REST pool, the symbol order actors, the executor."""

from .client import ExchangeClient as ExchangeClient
from .executor import Executor as Executor
from .executor import ExecutorStatistics as ExecutorStatistics
from .executor import HealthStatus as HealthStatus
from .executor import StrategyHandle as StrategyHandle
from .executor import open_executor as open_executor
from .limiter import LimiterStatistics as LimiterStatistics
from .limiter import RateLimiter as RateLimiter
from .reply import OneShot as OneShot
from .rest_pool import RestWorkerPool as RestWorkerPool
from .retry import RetryPolicy as RetryPolicy
from .symbol_actor import SymbolOrderActor as SymbolOrderActor

__all__ = [
    "ExchangeClient",
    "Executor",
    "ExecutorStatistics",
    "HealthStatus",
    "LimiterStatistics",
    "OneShot",
    "RateLimiter",
    "RestWorkerPool",
    "RetryPolicy",
    "StrategyHandle",
    "SymbolOrderActor",
    "open_executor",
]
