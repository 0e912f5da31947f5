"""Prompt files: loading (bundled, or overridden from a folder), hashing, safe rendering.

A prompt is a Markdown file with ``{{name}}`` placeholders. Rendering is one pass over the
*template*: each known placeholder is replaced by its value, inserted verbatim, so braces in a
spec (``{model_name}``, JSON, code) never break anything and are never substituted. An unknown
placeholder in a template is an error at plan time, naming the file.

A generator declares its prompt files and the placeholders each may use; a ``prompts_dir`` is
searched before the bundled folder, file by file, so a folder holding one file overrides only
that one. The sha256 of every file used enters the stage fingerprint and each request's id: a
changed prompt never mixes into old results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from msmkit.errors import ConfigError
from msmkit.hashing import sha256_text

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``{{name}}`` of ``template`` by ``values[name]`` in a single pass."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return PLACEHOLDER.sub(sub, template)


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str
    path: Path

    @property
    def hash(self) -> str:
        return sha256_text(self.text)


@dataclass(frozen=True)
class PromptSet:
    """The prompt files one run uses, by name."""

    prompts: Mapping[str, Prompt]

    def __getitem__(self, name: str) -> Prompt:
        return self.prompts[name]

    def __contains__(self, name: object) -> bool:
        return name in self.prompts

    def hashes(self) -> dict[str, str]:
        return {name: p.hash for name, p in sorted(self.prompts.items())}

    def blocks(self, name: str) -> dict[str, str]:
        """A file split at its ``<!-- key: value -->`` markers, by ``key:value``."""
        text = self.prompts[name].text
        blocks: dict[str, str] = {}
        marks = list(re.finditer(r"<!--\s*([a-z_]+)\s*:\s*([a-z-]+)\s*-->", text))
        for i, mark in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            blocks[f"{mark.group(1)}:{mark.group(2)}"] = text[mark.end() : end].strip()
        return blocks


def load_prompt_set(
    bundled: Path,
    placeholders: Mapping[str, Sequence[str]],
    common: Sequence[str],
    prompts_dir: str | Path | None = None,
    *,
    prefixes: Sequence[str] = (),
) -> PromptSet:
    """Find every prompt file named in ``placeholders`` and check its placeholders.

    For file ``NAME`` the candidates are ``<prefix>/NAME.md`` for each of ``prefixes`` (a
    mode's variants, e.g. ``rules/``), then ``NAME.md``; the ``prompts_dir`` is searched
    before ``bundled``. ConfigError if a file is missing, unreadable or uses a placeholder
    its step does not have (besides ``common``)."""
    folders = [Path(prompts_dir)] if prompts_dir is not None else []
    if folders and not folders[0].is_dir():
        raise ConfigError(
            f"prompts_dir {folders[0]} is not a folder",
            hint=f"give a folder of .md files overriding those in {bundled}",
        )
    folders.append(bundled)
    found: dict[str, Prompt] = {}
    for name, allowed in placeholders.items():
        candidates = [f"{p}/{name}.md" for p in prefixes] + [f"{name}.md"]
        path = next(
            (f / c for f in folders for c in candidates if (f / c).is_file()),
            None,
        )
        if path is None:
            raise ConfigError(f"no prompt file for {name!r} in {', '.join(map(str, folders))}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read prompt file {path}: {exc}") from None
        unknown = sorted(set(PLACEHOLDER.findall(text)) - set(allowed) - set(common))
        if unknown:
            raise ConfigError(
                f"prompt file {path} uses unknown placeholder(s) "
                + ", ".join("{{" + u + "}}" for u in unknown),
                hint="placeholders there: "
                + ", ".join("{{" + a + "}}" for a in (*allowed, *common)),
            )
        found[name] = Prompt(name, text, path)
    return PromptSet(found)


def override_files(prompts_dir: str | Path) -> list[str]:
    """The prompt files a ``prompts_dir`` overrides (relative names), for messages."""
    root = Path(prompts_dir)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.md"))
