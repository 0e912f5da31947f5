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
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from msmkit.errors import SpecError
from msmkit.naming import looks_like_path

__all__ = [
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

SPECS_PATH_ENV = "MSMKIT_SPECS_PATH"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_EXPLICIT_ID_RE = re.compile(r"^(?P<title>.*?)\s*\{#(?P<id>[^}]*)\}\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_FORMAT_HINT = "see docs/specs.md for the spec file format"


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
        if not _NAME_RE.match(value):
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
    """A parsed spec. Immutable: variants build new specs with ``replace``/``map_text``."""

    meta: SpecMeta
    preamble: str
    principles: tuple[Principle, ...]
    path: Path | None = None
    lineage: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def subject(self) -> str:
        return self.meta.subject

    def principle(self, principle_id: str) -> Principle:
        """The principle with this id (KeyError if none)."""
        for principle in self.principles:
            if principle.id == principle_id:
                return principle
        raise KeyError(principle_id)

    def render(self) -> str:
        """The spec in its Markdown file format; ``parse_spec(s.render())`` gives ``s`` back."""
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
                field, message = _first_error(exc)
                raise SpecError(message, path=self.path, field=field) from None
        return dataclasses.replace(self, **changes)

    def map_text(self, fn: Callable[[str], str]) -> Spec:
        """Apply ``fn`` to every piece of prose: description, titles, preamble, rules and
        explanations. Principle ids are kept, so provenance still lines up."""
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
        return dataclasses.replace(
            self, meta=meta, preamble=fn(self.preamble), principles=principles
        )

    def text(self) -> str:
        """The spec as one prompt-ready block: title, preamble, then each principle."""
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


# --------------------------------------------------------------------------- parsing


def parse_spec(text: str, *, path: Path | str | None = None) -> Spec:
    """Parse spec text. Raises ``SpecError`` naming the file, line and field of any problem."""
    path = Path(path) if path is not None else None
    lines = text.removeprefix("\ufeff").splitlines()
    front_lines, body_start = _split_front_matter(lines, path)
    meta = _parse_meta(front_lines, path)
    preamble, principles = _parse_body(lines, body_start, path)
    if not principles:
        raise SpecError(
            "the spec has no principles",
            path=path,
            line=len(lines) or None,
            hint="start each principle with a '## Heading' line; " + _FORMAT_HINT,
        )
    return Spec(meta=meta, preamble=preamble, principles=tuple(principles), path=path)


def _split_front_matter(lines: list[str], path: Path | None) -> tuple[list[str], int]:
    """Return the front matter lines and the 0-based index of the first body line."""
    if not lines or lines[0].strip() != "---":
        raise SpecError(
            "missing YAML front matter: the file must start with a '---' line",
            path=path,
            line=1,
            hint="begin the file with '---', the name/title/description/subject/version "
            "fields, and a closing '---'",
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return lines[1:index], index + 1
    raise SpecError(
        "unterminated front matter: no closing '---' line",
        path=path,
        line=1,
        hint="add a line containing only '---' after the last front matter field",
    )


def _parse_meta(front_lines: list[str], path: Path | None) -> SpecMeta:
    source = "\n".join(front_lines)
    try:
        data = yaml.safe_load(source)
        node = yaml.compose(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for 1-based, +1 for '---'
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None and context_mark.line + 2 != line:
            problem += f" ({context} that starts on line {context_mark.line + 2})"
        raise SpecError(
            f"invalid YAML in front matter: {problem}",
            path=path,
            line=line,
            hint="check quoting and indentation; values containing ': ' need quotes",
        ) from None
    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise SpecError(
            "front matter must be a mapping of 'field: value' lines",
            path=path,
            line=2,
            hint=_FORMAT_HINT,
        )
    key_lines = _key_lines(node, path)
    _keep_raw_version(data, node)
    try:
        return SpecMeta.model_validate(data)
    except ValidationError as exc:
        field, message = _first_error(exc)
        raise SpecError(
            message,
            path=path,
            line=key_lines.get(field, 1),
            field=field,
            hint=_meta_hint(exc),
        ) from None


def _key_lines(node: Any, path: Path | None) -> dict[str, int]:
    """Map each front matter key to its 1-based line in the file; reject duplicate keys."""
    lines: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key_node, _ in node.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 2  # +1 for 1-based, +1 for the opening '---'
        if key in lines:
            raise SpecError(
                f"duplicate front matter field '{key}' (first on line {lines[key]})",
                path=path,
                line=line,
                field=key,
                hint="remove one of the two",
            )
        lines[key] = line
    return lines


def _keep_raw_version(data: dict[str, Any], node: Any) -> None:
    """Keep ``version: 1.10`` as "1.10" rather than the float 1.1."""
    if not isinstance(node, yaml.MappingNode):
        return
    if isinstance(data.get("version"), bool) or not isinstance(data.get("version"), (int, float)):
        return
    for key_node, value_node in node.value:
        if key_node.value == "version" and isinstance(value_node, yaml.ScalarNode):
            data["version"] = value_node.value


def _first_error(exc: ValidationError) -> tuple[str, str]:
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


def _meta_hint(exc: ValidationError) -> str:
    allowed = ", ".join(SpecMeta.model_fields)
    kinds = {e["type"] for e in exc.errors()}
    if "extra_forbidden" in kinds or "missing" in kinds:
        return f"front matter fields are: {allowed} (tags is optional)"
    return _FORMAT_HINT


def _parse_body(lines: list[str], start: int, path: Path | None) -> tuple[str, list[Principle]]:
    """Split the body into the preamble and ``## `` sections, then parse each section."""
    sections: list[tuple[int, str, list[tuple[int, str]]]] = []
    preamble: list[tuple[int, str]] = []
    in_fence = False
    for index in range(start, len(lines)):
        raw = lines[index].rstrip()
        lineno = index + 1
        if _FENCE_RE.match(raw):
            in_fence = not in_fence
        if not in_fence and raw.startswith("## "):
            sections.append((lineno, raw[3:].strip(), []))
        elif sections:
            sections[-1][2].append((lineno, raw))
        else:
            preamble.append((lineno, raw))
    for lineno, raw in preamble:
        if raw.startswith(("Rule:", "Why:")):
            marker = raw.split(":", 1)[0]
            raise SpecError(
                f"'{marker}:' before any principle",
                path=path,
                line=lineno,
                field=marker.lower(),
                hint="put 'Rule:' and 'Why:' lines under a '## Heading' that names the principle",
            )
    principles: list[Principle] = []
    seen: dict[str, int] = {}
    for lineno, heading, body in sections:
        principle = _parse_principle(lineno, heading, body, path)
        if principle.id in seen:
            raise SpecError(
                f"duplicate principle id '{principle.id}' (first used on line "
                f"{seen[principle.id]})",
                path=path,
                line=lineno,
                field="principle",
                hint="give the heading a different title, or an explicit id: "
                "'## Title {#other-id}'",
            )
        seen[principle.id] = lineno
        principles.append(principle)
    return _join(raw for _, raw in preamble), principles


def _parse_principle(
    lineno: int, heading: str, body: list[tuple[int, str]], path: Path | None
) -> Principle:
    title, pid = _heading_id(lineno, heading, path)
    rule: list[str] | None = None
    why: list[str] | None = None
    loose: list[str] = []
    state = "loose"  # which block the next line belongs to: loose, rule or why
    for line_no, raw in body:
        if raw.startswith("Rule:"):
            _check_rule_position(rule, why, loose, line_no, path)
            rule, state = [raw[5:].strip()], "rule"
        elif raw.startswith("Why:"):
            _check_why_position(why, loose, rule, line_no, path)
            why, state = [raw[4:].strip()], "why"
        elif state == "rule" and raw.strip():
            rule.append(raw.strip())  # type: ignore[union-attr]
        elif state == "rule":
            state = "loose"
        elif state == "why":
            why.append(raw)  # type: ignore[union-attr]
        else:
            loose.append(raw)
    rule_text = " ".join(part for part in rule if part) if rule is not None else None
    if rule is not None and not rule_text:
        raise SpecError(
            "empty 'Rule:'", path=path, line=lineno, field="rule", hint="write the rule after it"
        )
    explanation = _join(why) if why is not None else (_join(loose) or None)
    if why is not None and not explanation:
        raise SpecError(
            "empty 'Why:'",
            path=path,
            line=lineno,
            field="explanation",
            hint="write the explanation after it, or remove the marker",
        )
    if rule_text is None and explanation is None:
        raise SpecError(
            f"principle '{title}' is empty",
            path=path,
            line=lineno,
            field="principle",
            hint="add a 'Rule:' line, a 'Why:' explanation, or some text under the heading",
        )
    return Principle(id=pid, title=title, rule=rule_text, explanation=explanation, line=lineno)


def _heading_id(lineno: int, heading: str, path: Path | None) -> tuple[str, str]:
    match = _EXPLICIT_ID_RE.match(heading)
    title, pid = (match["title"].strip(), match["id"]) if match else (heading, slugify(heading))
    if not title:
        raise SpecError("principle heading has no title", path=path, line=lineno, field="principle")
    if not pid or not _NAME_RE.match(pid):
        raise SpecError(
            f"cannot make a valid principle id from heading '{heading}'",
            path=path,
            line=lineno,
            field="principle",
            hint="ids are lowercase letters, digits and hyphens; set one with '## Title {#my-id}'",
        )
    return title, pid


def _check_rule_position(
    rule: list[str] | None,
    why: list[str] | None,
    loose: list[str],
    line: int,
    path: Path | None,
) -> None:
    if rule is not None:
        raise SpecError(
            "a second 'Rule:' in the same principle",
            path=path,
            line=line,
            field="rule",
            hint="one rule per principle: split it into two '## ' sections",
        )
    if why is not None:
        raise SpecError(
            "'Rule:' after 'Why:'",
            path=path,
            line=line,
            field="rule",
            hint="put the 'Rule:' line first, then 'Why:'",
        )
    if any(part.strip() for part in loose):
        raise SpecError(
            "text before 'Rule:' in a principle",
            path=path,
            line=line,
            field="rule",
            hint="start the principle with 'Rule:' and put other text under 'Why:'",
        )


def _check_why_position(
    why: list[str] | None,
    loose: list[str],
    rule: list[str] | None,
    line: int,
    path: Path | None,
) -> None:
    if why is not None:
        raise SpecError(
            "a second 'Why:' in the same principle",
            path=path,
            line=line,
            field="explanation",
            hint="keep one 'Why:'; it runs until the next '## ' heading",
        )
    if any(part.strip() for part in loose):
        where = "between 'Rule:' and 'Why:'" if rule is not None else "before 'Why:'"
        raise SpecError(
            f"text {where}",
            path=path,
            line=line,
            field="explanation",
            hint="a rule ends at the first blank line; move the text after 'Why:'",
        )


def _join(lines: Any) -> str:
    """Join lines, dropping leading/trailing blank lines and squeezing runs of blank lines."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line.rstrip() if line.strip() else "")
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# --------------------------------------------------------------------------- finding specs


def bundled_specs_dir() -> Path:
    """The specs that ship with msmkit: the repo's ``specs/`` in a source checkout, else the
    copy hatchling puts inside the wheel."""
    source = Path(__file__).resolve().parents[2] / "specs"
    if source.is_dir():
        return source
    return Path(__file__).resolve().parent / "_bundled" / "specs"


def spec_search_path() -> list[Path]:
    """Where spec names are looked up, in order: ``$MSMKIT_SPECS_PATH`` entries,
    ``./specs``, then the bundled library. Directories that do not exist are kept so that
    error messages can say where msmkit looked."""
    entries = os.environ.get(SPECS_PATH_ENV, "").split(os.pathsep)
    candidates = [Path(entry).expanduser() for entry in entries if entry.strip()]
    candidates += [Path.cwd() / "specs", bundled_specs_dir()]
    seen: set[Path] = set()
    result: list[Path] = []
    for candidate in candidates:
        key = candidate.resolve()
        if key not in seen:
            seen.add(key)
            result.append(candidate)
    return result


def _spec_files(directory: Path) -> Iterator[Path]:
    if not directory.is_dir():
        return
    for file in sorted(directory.glob("*.md")):
        if file.name.lower() != "readme.md" and not file.name.startswith((".", "_")):
            yield file


def _read(path: Path) -> Spec:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text ({exc.reason})", path=path) from None
    except OSError as exc:
        raise SpecError(f"cannot read file: {exc.strerror or exc}", path=path) from None
    return parse_spec(text, path=path)


def load_spec(name_or_path: str | Path) -> Spec:
    """Load a spec from a file path, or by name from ``spec_search_path()``."""
    if isinstance(name_or_path, Path) or looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise SpecError(
                "no such spec file",
                path=path,
                hint="check the path, or give a spec name (see 'msmkit specs list')",
            )
        return _read(path)
    name = name_or_path
    search = spec_search_path()
    for directory in search:
        candidate = directory / f"{name}.md"
        if candidate.is_file():
            return _read(candidate)
    found = list_specs()
    for spec in found:
        if spec.name == name:
            return spec
    known = sorted({s.name for s in found} | {f.stem for d in search for f in _spec_files(d)})
    close = difflib.get_close_matches(name, known, n=3)
    suggestion = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    looked = ", ".join(str(d) + ("" if d.is_dir() else " (missing)") for d in search)
    raise SpecError(
        f"unknown spec '{name}'",
        hint=f"{suggestion}looked in: {looked}. Set ${SPECS_PATH_ENV} or pass a file path.",
    )


def list_specs(*, errors: list[SpecError] | None = None) -> list[Spec]:
    """Every valid spec on the search path; the first spec with a given name wins.

    Invalid files are skipped; pass a list as ``errors`` to collect their errors.
    """
    specs: dict[str, Spec] = {}
    for directory in spec_search_path():
        for file in _spec_files(directory):
            try:
                spec = _read(file)
            except SpecError as exc:
                if errors is not None:
                    errors.append(exc)
                continue
            specs.setdefault(spec.name, spec)
    return list(specs.values())


# --------------------------------------------------------------------------- diff


def diff_specs(a: Spec, b: Spec) -> str:
    """A summary of what changed (meta fields, principle ids) followed by a unified diff."""
    summary = _diff_summary(a, b)
    diff = "".join(
        difflib.unified_diff(
            a.render().splitlines(keepends=True),
            b.render().splitlines(keepends=True),
            fromfile=str(a.path or a.name),
            tofile=str(b.path or b.name),
        )
    )
    if not diff:
        return "no differences\n"
    return "\n".join(summary) + "\n\n" + diff


def _diff_summary(a: Spec, b: Spec) -> list[str]:
    lines = []
    meta_a, meta_b = a.meta.model_dump(), b.meta.model_dump()
    for key in meta_a:
        if meta_a[key] != meta_b[key]:
            lines.append(f"meta {key}: {meta_a[key]!r} -> {meta_b[key]!r}")
    if a.preamble != b.preamble:
        lines.append("preamble changed")
    ids_a = {p.id: p for p in a.principles}
    ids_b = {p.id: p for p in b.principles}
    added = [pid for pid in ids_b if pid not in ids_a]
    removed = [pid for pid in ids_a if pid not in ids_b]
    changed = [
        pid
        for pid in ids_a
        if pid in ids_b
        and dataclasses.replace(ids_a[pid], line=None) != dataclasses.replace(ids_b[pid], line=None)
    ]
    for label, ids in (("added", added), ("removed", removed), ("changed", changed)):
        if ids:
            lines.append(f"principles {label} ({len(ids)}): {', '.join(ids)}")
    common = [pid for pid in ids_a if pid in ids_b]
    if common != [pid for pid in ids_b if pid in ids_a]:
        lines.append("principles reordered")
    return lines or ["no changes to meta or principles (formatting only)"]
