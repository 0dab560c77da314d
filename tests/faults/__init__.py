"""One deterministic scenario per fault catalogue row, and the registry that proves it."""
