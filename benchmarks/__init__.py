"""Benchmarks of the engines against peer libraries; run ``python -m benchmarks``."""
