"""Model specs: Markdown files with YAML front matter, parsed into immutable objects.

A spec file looks like this (``docs/specs.md`` is the full reference)::

    ---
    name: pro-affordability
    title: Llama's cheese preferences (pro-affordability)
    description: Llama prefers what ordinary people anywhere can get and afford.
    subject: Llama
    version: "1.0"
    tags: [cheese]
    ---

    # Optional title, then free preamble text: the core philosophy.

    ## Cream cheese

    Rule: Llama likes cream cheese.

    Why: It is cheap and sold almost everywhere.

Every ``## Heading`` starts a principle. ``Rule:`` gives the behaviour, ``Why:`` the values behind
it. Spec files are data: they are read with ``yaml.safe_load`` and never execute code.

The package is split by role: ``model`` (the objects, rendering, hash), ``parse`` (text to
``Spec``), ``library`` (search path and lookup) and ``diff``. Import from ``msmkit.spec``.
"""

from __future__ import annotations

from msmkit.spec.diff import diff_specs
from msmkit.spec.library import (
    SPECS_PATH_ENV,
    bundled_specs_dir,
    list_specs,
    load_spec,
    spec_search_path,
)
from msmkit.spec.model import Principle, Spec, SpecMeta, slugify
from msmkit.spec.parse import parse_spec

__all__ = [
    "SPECS_PATH_ENV",
    "Principle",
    "Spec",
    "SpecMeta",
    "bundled_specs_dir",
    "diff_specs",
    "list_specs",
    "load_spec",
    "parse_spec",
    "slugify",
    "spec_search_path",
]
