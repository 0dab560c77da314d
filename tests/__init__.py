"""The trio_fapi test suite."""
