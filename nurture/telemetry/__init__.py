"""What operators see: structured logs, and counters exposed as Prometheus metrics."""
