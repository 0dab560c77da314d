"""Test support for users: pytest fixtures over the simulated exchange.

The fixtures live in :mod:`trio_fapi.testing.plugin`, which pytest loads
automatically through the ``trio_fapi`` entry point.
"""

__all__: list[str] = []
