"""Machinery of :mod:`rfm_loyalty.loyalty` (one module per loyalty view)."""
