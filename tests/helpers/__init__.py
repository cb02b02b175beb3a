"""Test helpers shared across test folders: free ports, a stub HTTP provider, a recording proxy."""
