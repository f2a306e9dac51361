"""Benchmarks of the connector, run by hand (`python -m bench.push --help`); see
docs/BENCHMARKS.md. Nothing here is imported by the connector or the tests."""
