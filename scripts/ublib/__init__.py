"""Shared code for scripts/sweep, plot, compare and report: reading result folders
(results.py, hgrm.py), drawing charts (charts.py) and formatting tables (tables.py)."""
