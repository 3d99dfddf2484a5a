"""Benchmark harness and fixtures (not shipped with photolens; CI does not run the training ones)."""
