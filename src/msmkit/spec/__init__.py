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

A Markdown or plain-text file with no front matter is a *prose* spec (``spec.is_prose``):
its text is kept verbatim and it has no principles. Variants need the structured form.

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
from msmkit.spec.model import PROSE_SUBJECT, PROSE_VERSION, Principle, Spec, SpecMeta, slugify
from msmkit.spec.parse import (
    PROSE_MIN_WORDS,
    PROSE_SUFFIXES,
    has_front_matter,
    parse_prose_spec,
    parse_spec,
)

__all__ = [
    "PROSE_MIN_WORDS",
    "PROSE_SUBJECT",
    "PROSE_SUFFIXES",
    "PROSE_VERSION",
    "SPECS_PATH_ENV",
    "Principle",
    "Spec",
    "SpecMeta",
    "bundled_specs_dir",
    "diff_specs",
    "has_front_matter",
    "list_specs",
    "load_spec",
    "parse_prose_spec",
    "parse_spec",
    "slugify",
    "spec_search_path",
]
