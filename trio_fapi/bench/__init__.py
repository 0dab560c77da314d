"""Benchmarks that ship with the package, so ``trio-fapi bench`` runs them anywhere."""
