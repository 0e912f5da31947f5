"""Comparing two specs: a summary of what changed, then a unified diff of the rendered files."""

from __future__ import annotations

import dataclasses
import difflib

from msmkit.spec.model import Spec

__all__ = ["diff_specs"]


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
