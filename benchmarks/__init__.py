"""Benchmarks, run by make targets (not by make test)."""
