"""Tests of the pure protocol layer (trio_fapi.protocol): no I/O, no trio."""
