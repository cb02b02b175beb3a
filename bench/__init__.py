"""Benchmarks: `python -m bench.run` compares the outbox design with one task per message."""
