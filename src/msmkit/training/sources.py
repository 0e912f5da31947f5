"""Where training data comes from: msmkit JSONL, any local dataset, or a Hugging Face dataset.

A :class:`DataSource` names one of

* a local file: ``.jsonl`` (msmkit's corpus/chat format, or any JSON lines), ``.json``,
  ``.parquet``, ``.csv`` or ``.arrow`` (read with ``datasets.load_dataset``);
* a local folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (read
  with ``datasets.load_from_disk``; ``split`` picks from a DatasetDict);
* ``hf:org/name[@revision]``: a dataset on the Hugging Face hub (``load_dataset`` with
  ``name``, ``split`` and ``revision``); pin a revision for a reproducible fingerprint.

``field`` is the column: the document text (default ``text``) or the chat messages (default
``messages``). A source's *ref* is what enters fingerprints: ``sha256:<hex>`` of a file, of a
folder's files (names and contents), or ``hf:org/name@revision``.

A training job's ``data`` is a path: a data file or folder itself (default split and field), or
a ``*.source.json`` file holding a serialized DataSource (what the training stages write when
an experiment names an external corpus).

Nothing here imports the Hugging Face stack at import time.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field

from msmkit.components import Options
from msmkit.errors import ConfigError, OptionError
from msmkit.jsonl import read_jsonl

HUB_PREFIX = "hf:"
SOURCE_SUFFIX = ".source.json"
FILE_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
FILE_FORMATS[".arrow"] = "arrow"
DISK_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


class DataSource(Options):
    """One dataset: a local file or folder, or ``hf:org/name[@revision]``."""

    path: str = Field(
        description="a local .jsonl/.json/.parquet/.csv/.arrow file, a save_to_disk folder, "
        "or hf:org/name[@revision] on the Hugging Face hub"
    )
    split: str = Field(default="train", description="the split to read (datasets' split)")
    field: str | None = Field(
        default=None, description="the column: text (documents) or messages (chats) by default"
    )
    name: str | None = Field(default=None, description="a hub dataset's configuration name")

    @property
    def is_hub(self) -> bool:
        return self.path.startswith(HUB_PREFIX)

    def hub_id(self) -> tuple[str, str | None]:
        repo, _, revision = self.path[len(HUB_PREFIX) :].partition("@")
        return repo, revision or None


def as_source(value: Any) -> DataSource:
    """A DataSource from itself, a mapping, a path or ``hf:`` string; a ``*.source.json``
    path is read back."""
    if isinstance(value, DataSource):
        return value
    if isinstance(value, dict):
        return DataSource.model_validate(value)
    text = str(value)
    if text.endswith(SOURCE_SUFFIX) and Path(text).is_file():
        return DataSource.model_validate_json(Path(text).read_text(encoding="utf-8"))
    return DataSource(path=text)


def write_source(source: DataSource, path: Path) -> Path:
    """Serialize ``source`` as a ``*.source.json`` file a training job can take as ``data``."""
    path = Path(path)
    if not path.name.endswith(SOURCE_SUFFIX):
        raise ValueError(f"a source file's name must end with {SOURCE_SUFFIX}")
    path.write_text(source.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def check_source(source: DataSource, loc: tuple = ()) -> None:
    """Plan-time checks that read no data: the file/folder exists and is a known kind, or
    the hub id is well formed. Raises OptionError at ``loc``."""
    if source.is_hub:
        repo, _ = source.hub_id()
        if not _HUB_ID.match(repo) or ".." in repo:
            raise OptionError(
                f"{source.path!r} is not a hub dataset id",
                loc=loc,
                hint="Write hf:org/name or hf:org/name@revision.",
            )
        return
    path = Path(source.path).expanduser()
    if not path.exists():
        raise OptionError(
            f"data source not found: {path}",
            loc=loc,
            hint="Give an existing file or save_to_disk folder, or hf:org/name for the hub.",
        )
    if path.is_dir():
        if not any((path / marker).is_file() for marker in DISK_MARKERS):
            raise OptionError(
                f"{path} is not a folder written by datasets' save_to_disk",
                loc=loc,
                hint="Point at the folder save_to_disk wrote, or at a data file.",
            )
    elif path.suffix not in FILE_FORMATS:
        raise OptionError(
            f"{path}: unknown data file type {path.suffix!r}",
            loc=loc,
            hint="Use one of " + ", ".join(sorted(FILE_FORMATS)) + ".",
        )


def source_ref(source: DataSource) -> str:
    """What identifies the data's content: a sha256, or the hub id and revision."""
    if source.is_hub:
        repo, revision = source.hub_id()
        return f"hf:{repo}@{revision or 'unpinned'}"
    from msmkit.hashing import sha256_file

    path = Path(source.path).expanduser()
    if path.is_file():
        return "sha256:" + sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path)}\0{sha256_file(file)}\n".encode())
    return "sha256:" + digest.hexdigest()


def describe(source: DataSource) -> dict[str, Any]:
    return {**source.model_dump(mode="json"), "ref": source_ref(source)}


def _load_dataset(source: DataSource):
    import datasets

    if source.is_hub:
        repo, revision = source.hub_id()
        return datasets.load_dataset(
            repo, source.name, split=source.split, **({"revision": revision} if revision else {})
        )
    path = Path(source.path).expanduser()
    if path.is_dir():
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if source.split not in loaded:
                raise ConfigError(
                    f"{path} has no split {source.split!r}",
                    hint="Splits there: " + ", ".join(loaded) + ".",
                )
            return loaded[source.split]
        return loaded
    kind = FILE_FORMATS.get(path.suffix)
    return datasets.load_dataset(kind, data_files=str(path), split="train")


def load_column(source: DataSource, default_field: str) -> list[Any]:
    """The ``field`` column of the source, as a list (a JSONL file is read without datasets)."""
    field = source.field or default_field
    path = Path(source.path).expanduser()
    if not source.is_hub and path.is_file() and path.suffix == ".jsonl":
        values = []
        for number, row in read_jsonl(path):
            if field not in row:
                raise ConfigError(
                    f"{path}:{number}: a row has no {field!r} field",
                    hint="Set the source's field to the column that holds the data.",
                )
            values.append(row[field])
        return values
    try:
        dataset = _load_dataset(source)
    except ConfigError:
        raise
    except Exception as exc:  # datasets raises many kinds; all mean "cannot read this source"
        raise ConfigError(
            f"cannot read the data source {source.path}: {type(exc).__name__}: {exc}",
            hint="Check the path or hub id, its split and (for the hub) your network.",
        ) from None
    if field not in dataset.column_names:
        raise ConfigError(
            f"{source.path}: no column {field!r} (columns: {', '.join(dataset.column_names)})",
            hint="Set the source's field to the column that holds the data.",
        )
    return list(dataset[field])


def load_texts(source: DataSource) -> list[str]:
    texts = load_column(source, "text")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ConfigError(
                f"{source.path}: document {index} is not a string",
                hint="Midtraining documents are strings in the text column.",
            )
    if not texts:
        raise ConfigError(f"{source.path}: the corpus has no documents")
    return texts


def job_data_ref(data: Path) -> str:
    """The content ref of a training job's ``data`` (a file, folder or ``*.source.json``)."""
    return source_ref(as_source(data))


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
