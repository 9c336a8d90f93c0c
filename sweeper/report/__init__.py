"""Comparison reports: tables, PNG figures, markdown and a self-contained HTML page."""

from sweeper.report.writer import print_selection, write_report

__all__ = ["print_selection", "write_report"]
