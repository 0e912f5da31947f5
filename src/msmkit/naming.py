"""Names and references users write: slugs (arm, run and experiment names) and path-or-name."""

from __future__ import annotations

import os
import re

SLUG = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
"""Arm, experiment and run names: a plain folder name, nothing that can leave a folder."""
SLUG_RE = re.compile(SLUG)
MAX_NAME = 80
"""Longest arm, experiment or run name (well under every filesystem's 255-byte limit)."""


def looks_like_path(ref: str) -> bool:
    """True when a spec or model reference is a file path rather than a library name.

    A name never has a slash or a ``.md`` suffix; a path is anything that starts with ``.``,
    ``~`` or ``/``, contains a path separator, or ends in ``.md``/``.txt``.
    """
    return (
        ref.endswith((".md", ".txt", ".markdown"))
        or "/" in ref
        or os.sep in ref
        or ref.startswith((".", "~"))
    )
