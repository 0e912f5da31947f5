"""Document corpora: JSONL files with one document and its provenance per line.

Every row carries the spec name and hash, the generator, its version and its settings, so a
corpus can always be traced back to what produced it. Rows have the same columns and column
types throughout (``settings`` is stored as a JSON string, ``settings_json``), so
``datasets.load_dataset("json", data_files=...)`` loads a corpus directly.

Writing is append-only and flushed line by line: an interrupted generation keeps every
finished document, and ``CorpusWriter.existing_ids`` tells the generator what to skip.
Resuming is only safe when the file was written by the same spec, generator and settings:
``check_resumable`` says so (or refuses, changing nothing) before a writer is opened.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from msmkit.errors import RunError

__all__ = [
    "CorpusWriter",
    "Document",
    "Provenance",
    "check_resumable",
    "corpus_stats",
    "read_corpus",
]

_FIELDS = (
    "id",
    "text",
    "doc_type",
    "principle",
    "spec_name",
    "spec_hash",
    "generator",
    "generator_version",
)


@dataclass(frozen=True)
class Document:
    """One generated document and where it came from."""

    id: str
    text: str
    doc_type: str
    principle: str | None
    spec_name: str
    spec_hash: str
    generator: str
    generator_version: str
    settings: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    """Per-document provenance beyond the fixed columns (an LLM generator's domain, idea,
    model, prompt hash, usage ...). Stored as ``meta_json`` only when non-empty, so corpora
    without it keep their exact bytes."""

    def to_record(self) -> dict[str, Any]:
        """The JSONL row: every field, with ``settings`` as the JSON string ``settings_json``."""
        record: dict[str, Any] = {name: getattr(self, name) for name in _FIELDS}
        record["settings_json"] = json.dumps(self.settings, sort_keys=True, default=str)
        if self.meta:
            record["meta_json"] = json.dumps(self.meta, sort_keys=True, ensure_ascii=False)
        return record

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> Document:
        """Rebuild a document from a row (``settings_json`` or a ``settings`` mapping)."""
        missing = [name for name in _FIELDS if name not in row]
        if missing:
            raise ValueError(f"record lacks field(s): {', '.join(missing)}")
        if "settings_json" in row:
            settings = json.loads(row["settings_json"] or "{}")
        else:
            settings = dict(row.get("settings") or {})
        values = {name: row[name] for name in _FIELDS}
        for name in _FIELDS:
            if name != "principle" and not isinstance(values[name], str):
                raise ValueError(f"field '{name}' must be a string")
        meta = json.loads(row["meta_json"]) if row.get("meta_json") else dict(row.get("meta") or {})
        return cls(**values, settings=settings, meta=meta)


@dataclass(frozen=True)
class Provenance:
    """What produced a document: every document of one generation run shares it.

    ``settings`` of None means "any settings" (for a generator whose documents do not record
    their options as ``options.model_dump()``).
    """

    spec_name: str
    spec_hash: str
    generator: str
    generator_version: str
    settings: dict[str, Any] | None = None

    @classmethod
    def of(cls, doc: Document) -> Provenance:
        return cls(doc.spec_name, doc.spec_hash, doc.generator, doc.generator_version, doc.settings)

    @property
    def spec(self) -> str:
        return f"{self.spec_name}@{self.spec_hash[:12]}"

    @property
    def generator_label(self) -> str:
        return f"{self.generator}@{self.generator_version}"


def _canonical(settings: dict[str, Any] | None) -> str:
    """Settings as a corpus row stores them (``settings_json``), so recorded and expected
    settings compare equal whatever their Python types."""
    return json.dumps(settings or {}, sort_keys=True, default=str)


def _show(settings: dict[str, Any] | None, keys: list[str]) -> str:
    """``key=value, ...`` for the named settings (JSON values; ``(unset)`` when absent)."""
    data = json.loads(_canonical(settings))
    return ", ".join(f"{key}={json.dumps(data[key]) if key in data else '(unset)'}" for key in keys)


def _changed(settings: dict[str, Any] | None, want: dict[str, Any]) -> set[str]:
    have = json.loads(_canonical(settings))
    return {key for key in have.keys() | want.keys() if have.get(key, ...) != want.get(key, ...)}


def _differences(found: list[Provenance], expected: Provenance) -> tuple[list[str], list[str]]:
    """What the file holds and what would be written, for each field that differs."""
    held: list[str] = []
    wanted: list[str] = []
    if {(p.spec_name, p.spec_hash) for p in found} != {(expected.spec_name, expected.spec_hash)}:
        held.append("of spec " + " and ".join(sorted({p.spec for p in found})))
        wanted.append(f"of spec {expected.spec}")
        if expected.spec_name in {p.spec_name for p in found}:
            wanted[-1] += " (same name, other content: the spec file or its variants changed)"
    generators = sorted({p.generator_label for p in found})
    if generators != [expected.generator_label]:
        held.append("from generator " + " and ".join(generators))
        wanted.append(f"from generator {expected.generator_label}")
    if expected.settings is not None:
        want = json.loads(_canonical(expected.settings))
        others = {_canonical(p.settings): p.settings for p in found}
        others.pop(_canonical(expected.settings), None)
        if others:
            keys = sorted({key for settings in others.values() for key in _changed(settings, want)})
            shown = " and ".join(f"({_show(s, keys)})" for s in others.values())
            held.append(f"with settings {shown}")
            wanted.append(f"with settings ({_show(expected.settings, keys)})")
    return held, wanted


def check_resumable(path: Path, expected: Provenance) -> frozenset[str]:
    """The ids already in ``path``, when every document there has the ``expected``
    provenance (an empty set when the file does not exist or holds no documents).

    Otherwise raises a RunError naming what differs: spec name and hash, generator and
    version, settings. It only reads the file, so a refused resume leaves it byte for byte
    as it was (a cut-off last line is left for ``CorpusWriter`` to repair).
    """
    path = Path(path)
    if not path.exists():
        return frozenset()
    documents, _, _ = _scan(path)
    if not documents:
        return frozenset()
    found = {
        (p.spec_name, p.spec_hash, p.generator_label, _canonical(p.settings)): p
        for p in map(Provenance.of, documents)
    }
    held, wanted = _differences(list(found.values()), expected)
    if held:
        raise RunError(
            f"{path} holds documents {' '.join(held)}, but this command generates documents "
            f"{' '.join(wanted)}",
            hint=f"nothing was changed; write to a new file, or delete {path} to start over",
        )
    return frozenset(doc.id for doc in documents)


def _scan(path: Path) -> tuple[list[Document], int, bool]:
    """Parse a corpus file.

    Returns the documents, the byte offset where an unterminated last line starts (the
    file length if there is none), and whether there is such a line. An unterminated line
    is what an interrupted write leaves; it is dropped unless it holds a complete record.
    A bad line anywhere else is an error: silently dropping finished work would be worse.
    """
    data = path.read_bytes()
    documents: list[Document] = []
    offset = 0
    lineno = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        complete = end != -1
        chunk = data[offset : end if complete else len(data)]
        lineno += 1
        try:
            doc = _parse_line(chunk) if chunk.strip() else None
        except ValueError as exc:
            if not complete:  # the last write was cut short; the caller may drop it
                return documents, offset, True
            raise RunError(
                f"{path}:{lineno}: corrupt corpus line ({exc})",
                hint="fix or delete that line; every other line is a complete document",
            ) from None
        if doc is not None:
            documents.append(doc)
        if not complete:  # a valid record (or blank space) that only lacks its newline
            return documents, offset, True
        offset = end + 1
    return documents, offset, False


def _parse_line(chunk: bytes) -> Document:
    try:
        row = json.loads(chunk.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a JSON object: {exc}") from None
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    return Document.from_record(row)


class CorpusWriter:
    """Append-only JSONL writer for resumable generation.

    Opening an existing file reads the ids already there; a partial last line left by a
    crash is cut off (so the file is valid JSONL again) and that document is simply produced
    again. Each ``write`` flushes, so a killed process loses at most the line in flight.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired = False
        ids: list[str] = []
        if self.path.exists():
            documents, valid_bytes, partial = _scan(self.path)
            ids = [doc.id for doc in documents]
            if partial:
                self._repair(valid_bytes)
        self._ids = set(ids)
        self._fh = self.path.open("a", encoding="utf-8", newline="\n")

    def _repair(self, valid_bytes: int) -> None:
        with self.path.open("r+b") as fh:
            fh.seek(valid_bytes)
            tail = fh.read()
            fh.truncate(valid_bytes)
            if tail.strip() and self._is_complete_record(tail):
                fh.seek(valid_bytes)
                fh.write(tail.rstrip(b"\r") + b"\n")
        self.repaired = True

    @staticmethod
    def _is_complete_record(chunk: bytes) -> bool:
        try:
            _parse_line(chunk)
        except ValueError:
            return False
        return True

    @property
    def existing_ids(self) -> frozenset[str]:
        """Ids of every document in the file, including those written through this writer."""
        return frozenset(self._ids)

    def write(self, doc: Document) -> None:
        """Append one document and flush it to the OS."""
        if self._fh.closed:
            raise RunError(f"corpus writer for {self.path} is closed")
        if doc.id in self._ids:
            raise RunError(
                f"document id '{doc.id}' is already in {self.path}",
                hint="ids must be unique; pass writer.existing_ids as the generator's skip set",
            )
        line = json.dumps(doc.to_record(), ensure_ascii=False)
        self._fh.write(line + "\n")
        self._fh.flush()
        self._ids.add(doc.id)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> CorpusWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._ids)


def read_corpus(path: Path) -> list[Document]:
    """All documents in a corpus file. A partial last line (interrupted write) is ignored."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no corpus file at {path}", hint="generate the corpus first")
    documents, _, _ = _scan(path)
    return documents


def corpus_stats(path: Path) -> dict[str, Any]:
    """Counts for a corpus: documents, words, chars, approximate tokens, per type and principle."""
    documents = read_corpus(path)
    chars = sum(len(doc.text) for doc in documents)
    return {
        "documents": len(documents),
        "words": sum(len(doc.text.split()) for doc in documents),
        "chars": chars,
        "tokens_estimate": chars // 4,
        "by_doc_type": dict(sorted(Counter(doc.doc_type for doc in documents).items())),
        "by_principle": dict(sorted(Counter(doc.principle or "" for doc in documents).items())),
        "specs": sorted({f"{doc.spec_name}@{doc.spec_hash[:12]}" for doc in documents}),
        "generators": sorted({f"{doc.generator}@{doc.generator_version}" for doc in documents}),
    }
