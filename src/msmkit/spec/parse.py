"""Parsing spec text: YAML front matter, then ``## `` principles with ``Rule:``/``Why:``.

Every problem is a ``SpecError`` that names the file, the line and the field.
``parse_prose_spec`` reads a free-prose spec (a file with no front matter) instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from msmkit.errors import SpecError
from msmkit.spec.model import (
    NAME_RE,
    PROSE_SUBJECT,
    PROSE_VERSION,
    Principle,
    Spec,
    SpecMeta,
    first_error,
    slugify,
)
from msmkit.yamlfile import YAMLValueError, parse_yaml

__all__ = [
    "PROSE_MIN_WORDS",
    "PROSE_SUFFIXES",
    "has_front_matter",
    "parse_prose_spec",
    "parse_spec",
]

PROSE_SUFFIXES = (".md", ".markdown", ".txt")
"""File types that ``load_spec`` reads as a prose spec when they have no front matter."""
PROSE_MIN_WORDS = 20
"""A file without front matter and with fewer words than this is an error, not a spec."""

_EXPLICIT_ID_RE = re.compile(r"^(?P<title>.*?)\s*\{#(?P<id>[^}]*)\}\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_FORMAT_HINT = "see docs/specs.md for the spec file format"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_characters(text: str, path: Path | str | None = None) -> None:
    """Refuse control characters (a NUL byte, say) that no spec means and that would reach
    every prompt and document made from it."""
    found = _CONTROL.search(text)
    if found is not None:
        line = text[: found.start()].count("\n") + 1
        raise SpecError(
            f"a control character (U+{ord(found.group()):04X}) in the text",
            path=Path(path) if path is not None else None,
            line=line,
            hint="remove it; specs are plain UTF-8 text",
        )


def parse_spec(text: str, *, path: Path | str | None = None) -> Spec:
    """Parse spec text. Raises ``SpecError`` naming the file, line and field of any problem."""
    check_characters(text, path)
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


def has_front_matter(text: str) -> bool:
    """True when the text starts (after an optional BOM) with a ``---`` line. Such a file is
    always parsed as a structured spec, so a typo in it is an error, never prose."""
    lines = text.removeprefix("\ufeff").splitlines()
    return bool(lines) and lines[0].strip() == "---"


def parse_prose_spec(text: str, *, path: Path | str, name: str | None = None) -> Spec:
    """A free-prose spec: the whole text kept verbatim in ``prose`` (and, trimmed, as the
    ``preamble``, so tools that show the core philosophy show it), no principles.

    ``name`` defaults to the slug of the file stem; the title is the first ``# `` heading
    (outside code blocks) or the stem. Raises ``SpecError`` if the text has front matter
    (use ``parse_spec``), no usable name, or fewer than ``PROSE_MIN_WORDS`` words.
    """
    path = Path(path)
    text = text.removeprefix("\ufeff")
    if has_front_matter(text):
        raise SpecError(
            "a file with front matter is a structured spec, not prose",
            path=path,
            line=1,
            hint="parse it with parse_spec, or remove the '---' header",
        )
    words = len(text.split())
    if words < PROSE_MIN_WORDS:
        raise SpecError(
            f"missing YAML front matter, and too short for a prose spec ({words} words; "
            f"at least {PROSE_MIN_WORDS})",
            path=path,
            line=1,
            hint="begin a structured spec with '---' front matter, or write out the prose; "
            + _FORMAT_HINT,
        )
    name = name if name is not None else slugify(path.stem)
    if not name or not NAME_RE.match(name):
        raise SpecError(
            f"cannot make a spec name from the file name '{path.name}'",
            path=path,
            field="name",
            hint="rename the file with letters or digits, e.g. my-constitution.md",
        )
    title = _first_title(text) or path.stem
    meta = SpecMeta(
        name=name,
        title=title,
        description=f"free prose spec ({words} words) from {path.name}",
        subject=PROSE_SUBJECT,
        version=PROSE_VERSION,
        tags=("prose",),
    )
    preamble = text.strip("\n").rstrip()
    return Spec(meta=meta, preamble=preamble, principles=(), path=path, prose=text)


def _first_title(text: str) -> str | None:
    in_fence = False
    for raw in text.splitlines():
        if _FENCE_RE.match(raw):
            in_fence = not in_fence
        elif not in_fence and raw.startswith("# ") and raw[2:].strip():
            return raw[2:].strip()
    return None


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
        data, node = parse_yaml(source)
    except YAMLValueError as exc:
        line = exc.line + 1 if exc.line else 1  # +1 for the opening '---'
        if exc.key is not None:
            raise SpecError(
                f"duplicate key '{exc.key}' in front matter (first on line "
                f"{(exc.first_line or 0) + 1})",
                path=path,
                line=line,
                field=str(exc.key),
                hint="give each front matter field once",
            ) from None
        raise SpecError(f"front matter: {exc}", path=path, line=line) from None
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
        field, message = first_error(exc)
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
    if not pid or not NAME_RE.match(pid):
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
