"""The spec objects: ``SpecMeta`` (front matter), ``Principle`` and ``Spec``, plus rendering
a spec back to its Markdown file format and the content hash that provenance records use."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from msmkit.errors import SpecError

__all__ = ["PROSE_SUBJECT", "PROSE_VERSION", "Principle", "Spec", "SpecMeta", "slugify"]

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
"""Spec names and principle ids: lowercase letters, digits and hyphens."""

PROSE_SUBJECT = "the assistant"
"""The ``subject`` of a prose spec, which has no front matter to declare one."""
PROSE_VERSION = "prose"
"""The ``version`` of a prose spec; it also marks prose specs in ``msmkit specs list``."""


class SpecMeta(BaseModel):
    """The YAML front matter of a spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    description: str
    subject: str
    version: str
    tags: tuple[str, ...] = ()  # a YAML list; a tuple keeps specs hashable

    @field_validator("version", mode="before")
    @classmethod
    def _stringify_version(cls, value: Any) -> Any:
        if isinstance(value, (int, float, date)) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("name", "title", "description", "subject", "version")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(
                "must be lowercase letters, digits and hyphens, starting with a letter or digit"
            )
        return value


@dataclass(frozen=True)
class Principle:
    """One ``## Heading`` section of a spec."""

    id: str
    title: str
    rule: str | None
    explanation: str | None
    line: int | None = None


@dataclass(frozen=True)
class Spec:
    """A parsed spec. Immutable: variants build new specs with ``replace``/``map_text``.

    ``lineage`` is a tuple of strings, one human-readable line per variant applied, oldest
    first (``("rules-only: removed explanations from 17 principles",)``). A variant appends
    with ``spec.replace(lineage=(*spec.lineage, "my-variant: what changed"))``. It is not
    part of ``render()``, so it does not change ``hash``; run manifests record it.

    A *prose* spec (``kind == "prose"``) is a free-text file with no front matter: ``prose``
    holds its text verbatim, ``principles`` is empty, ``preamble`` is the trimmed text, ``meta`` is
    derived from the file (see ``msmkit.spec.parse.parse_prose_spec``). ``render()`` returns
    the text unchanged. Only structured specs can be given to variants.
    """

    meta: SpecMeta
    preamble: str
    principles: tuple[Principle, ...]
    path: Path | None = None
    lineage: tuple[str, ...] = ()
    prose: str | None = None

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def subject(self) -> str:
        return self.meta.subject

    @property
    def is_prose(self) -> bool:
        """True for a free-prose spec (no front matter, no Rule/Why structure)."""
        return self.prose is not None

    @property
    def kind(self) -> str:
        """``"prose"`` or ``"structured"``."""
        return "prose" if self.is_prose else "structured"

    @property
    def word_count(self) -> int:
        """Whitespace-separated words in the spec's text."""
        return len(self.text().split())

    def principle(self, principle_id: str) -> Principle:
        """The principle with this id (KeyError if none)."""
        for principle in self.principles:
            if principle.id == principle_id:
                return principle
        raise KeyError(principle_id)

    def render(self) -> str:
        """The spec in its Markdown file format; ``parse_spec(s.render())`` gives ``s`` back.
        A prose spec renders as its text, unchanged."""
        if self.prose is not None:
            return self.prose
        parts = [_render_front_matter(self.meta)]
        if self.preamble:
            parts.append(self.preamble)
        parts.extend(_render_principle(p) for p in self.principles)
        return "\n\n".join(parts) + "\n"

    @property
    def hash(self) -> str:
        """sha256 of ``render()``: identifies the spec's content in provenance records."""
        return hashlib.sha256(self.render().encode("utf-8")).hexdigest()

    def replace(self, **changes: Any) -> Spec:
        """A copy with fields changed. Meta fields (``subject``, ``title``...) may be given
        directly; they are validated like front matter."""
        meta_fields = set(SpecMeta.model_fields)
        meta_changes = {k: changes.pop(k) for k in list(changes) if k in meta_fields}
        if meta_changes:
            base = changes.pop("meta", self.meta)
            try:
                changes["meta"] = SpecMeta.model_validate({**base.model_dump(), **meta_changes})
            except ValidationError as exc:
                field, message = first_error(exc)
                raise SpecError(message, path=self.path, field=field) from None
        return dataclasses.replace(self, **changes)

    def map_text(self, fn: Callable[[str], str]) -> Spec:
        """Apply ``fn`` to every piece of prose and return the new spec.

        Touched: ``meta.title``, ``meta.description``, ``preamble`` (even when empty), and each
        principle's ``title``, ``rule`` and ``explanation`` (those that are not None). Left
        alone: ``name``, ``subject``, ``version``, ``tags``, principle ids and ``line``,
        ``path`` and ``lineage``. Principle ids are kept, so provenance still lines up; the
        new title/description are not re-validated. On a prose spec ``fn`` is applied to the
        title, the description and the whole ``prose`` text."""
        principles = tuple(
            dataclasses.replace(
                p,
                title=fn(p.title),
                rule=fn(p.rule) if p.rule is not None else None,
                explanation=fn(p.explanation) if p.explanation is not None else None,
            )
            for p in self.principles
        )
        meta = self.meta.model_copy(
            update={"title": fn(self.meta.title), "description": fn(self.meta.description)}
        )
        prose = fn(self.prose) if self.prose is not None else None
        return dataclasses.replace(
            self, meta=meta, preamble=fn(self.preamble), principles=principles, prose=prose
        )

    def text(self) -> str:
        """The spec as one prompt-ready block: title, preamble, then each principle. A prose
        spec is its text as written."""
        if self.prose is not None:
            return self.prose
        parts = []
        if not self.preamble.lstrip().startswith("# "):
            parts.append(f"# {self.meta.title}")
        if self.preamble:
            parts.append(self.preamble)
        for p in self.principles:
            section = [f"## {p.title}"]
            if p.rule:
                section.append(f"Rule: {p.rule}")
            if p.explanation:
                section.append(f"Why: {p.explanation}" if p.rule else p.explanation)
            parts.append("\n\n".join(section))
        return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- rendering


def slugify(text: str) -> str:
    """``"Époisses de Bourgogne"`` -> ``"epoisses-de-bourgogne"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _render_front_matter(meta: SpecMeta) -> str:
    data: dict[str, Any] = {
        "name": meta.name,
        "title": meta.title,
        "description": meta.description,
        "subject": meta.subject,
        "version": meta.version,
    }
    if meta.tags:
        data["tags"] = list(meta.tags)
    body = yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=None
    )
    return f"---\n{body}---"


def _render_principle(p: Principle) -> str:
    heading = f"## {p.title}"
    if slugify(p.title) != p.id:
        heading += f" {{#{p.id}}}"
    parts = [heading]
    if p.rule is not None:
        parts.append("Rule: " + " ".join(p.rule.split()))
    if p.explanation is not None:
        if p.rule is None and not p.explanation.startswith(("Rule:", "Why:")):
            parts.append(p.explanation)
        else:
            parts.append(f"Why: {p.explanation}")
    return "\n\n".join(parts)


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The most useful error first (an unknown field is usually a typo that also causes a
    'missing' error), as one short message."""
    order = {"extra_forbidden": 0, "missing": 2}
    errors = sorted(exc.errors(), key=lambda e: order.get(e["type"], 1))
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or "front matter"
    kind = first["type"]
    if kind == "missing":
        message = f"missing required field '{field}'"
    elif kind == "extra_forbidden":
        message = f"unknown field '{field}'"
        close = difflib.get_close_matches(field, list(SpecMeta.model_fields), n=1)
        if close:
            message += f" (did you mean '{close[0]}'?)"
    else:
        message = f"invalid value for '{field}': {first['msg']}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return field.split(".")[0], message
