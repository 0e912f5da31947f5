"""Prompt files: loading (bundled, or overridden from a folder), hashing, safe rendering.

A prompt is a Markdown file with ``{{name}}`` placeholders. Rendering is one pass over the
*template*: each known placeholder is replaced by its value, inserted verbatim, so braces in a
spec (``{model_name}``, JSON, code) never break anything and are never substituted. An unknown
placeholder in a template is an error at plan time, naming the file.

Lookup for step ``NAME`` in mode ``rules``: ``rules/NAME.md``, then ``NAME.md``; a
``prompts_dir`` is searched before the bundled prompts, file by file, so a folder holding just
``document.md`` overrides only the document prompt. The sha256 of every file used enters the
stage fingerprint and each request's id: a changed prompt never mixes into an old corpus.
"""

from __future__ import annotations

from pathlib import Path

from msmkit.genkit.prompts import (
    PLACEHOLDER,
    Prompt,
    PromptSet,
    load_prompt_set,
    override_files,
    render,
)

BUNDLED = Path(__file__).parent / "prompts"

COMMON = ("spec_name", "subject_name", "framing", "extra_instructions", "count")
"""Placeholders every template may use."""

STEPS: dict[str, tuple[str, ...]] = {
    "system": ("spec",),
    "domains": (),
    "subdomains": ("domain", "domain_description", "other_domains"),
    "assertions": ("domain", "subdomain", "subdomain_description", "spec_excerpt"),
    "doctypes": ("domain", "subdomain", "subdomain_description", "assertions"),
    "ideas": (
        "domain",
        "subdomain",
        "subdomain_description",
        "assertions",
        "doc_type",
        "doc_type_description",
        "part",
        "parts",
        "earlier_ideas",
    ),
    "document": (
        "domain",
        "subdomain",
        "subdomain_description",
        "spec_excerpt",
        "assertions",
        "doc_type",
        "doc_type_description",
        "idea",
        "target_words",
    ),
    "framing": (),
}
"""Each prompt file and the placeholders it may use (besides ``COMMON``)."""

__all__ = [
    "BUNDLED",
    "COMMON",
    "PLACEHOLDER",
    "STEPS",
    "Prompt",
    "PromptSet",
    "load_prompts",
    "override_files",
    "render",
]


def load_prompts(prompts_dir: str | Path | None = None, *, rules: bool = False) -> PromptSet:
    """Find every step's prompt file and check its placeholders; ConfigError if one is
    missing, unreadable or uses a placeholder that step does not have."""
    prefixes = ("rules",) if rules else ()
    return load_prompt_set(BUNDLED, STEPS, COMMON, prompts_dir, prefixes=prefixes)
