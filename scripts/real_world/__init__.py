"""Makers of the files in tests/data/real_world/, one module per topic."""
