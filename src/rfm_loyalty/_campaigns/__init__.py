"""Machinery of :mod:`rfm_loyalty.campaigns`: selection, assignment, files, statistics, views."""
