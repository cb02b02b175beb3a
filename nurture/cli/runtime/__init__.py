"""Running the product: preparing a database, and the embedded (one-process) mode."""
