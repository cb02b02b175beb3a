"""Is delivery working: heartbeats of the long-running processes and the checks built on them."""
