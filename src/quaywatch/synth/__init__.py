"""Synthetic port traffic for demos, tests and benchmarks."""
