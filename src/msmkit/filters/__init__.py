"""Corpus filters: near-duplicates, length, refusals, placeholders, eval contamination.

``run_filters`` applies them in a fixed order (the cheap rules, then contamination, then
dedup, so a kept representative is never a document a rule would drop) and says why each
removed document went. The ``filter`` stage kind and ``msmkit corpus`` both use it.
"""

from msmkit.filters.pipeline import FilterOptions, FilterResult, run_filters, write_outputs

__all__ = ["FilterOptions", "FilterResult", "run_filters", "write_outputs"]
