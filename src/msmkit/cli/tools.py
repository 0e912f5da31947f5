"""Single-stage commands: ``msmkit generate docs`` (in ``msmkit.cli.generate``) and
``msmkit tiny-model``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from msmkit.console import err_console


def _parse_options(pairs: tuple[str, ...]) -> dict:
    import yaml

    from msmkit.errors import ConfigError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"-O {pair!r}: expected KEY=VALUE")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _guarded(entry: Any, documents: Iterator[Any]) -> Iterator[Any]:
    """Iterate a generator's documents; its unexpected exceptions become a PluginError that
    names it (documents already written stay written)."""
    from msmkit.errors import MsmkitError

    iterator = iter(documents)
    while True:
        try:
            doc = next(iterator)
        except StopIteration:
            return
        except MsmkitError:
            raise
        except Exception as exc:
            raise entry.error("generating documents", exc) from exc
        yield doc


@click.command("tiny-model")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--text",
    "texts",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Text or JSONL files to train the tokenizer on (repeatable).",
)
@click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Tiny model setting, e.g. -O hidden_size=128.",
)
def tiny_model_cmd(out: Path, texts: tuple[Path, ...], options: tuple[str, ...]) -> None:
    """Build a random-weight tiny causal LM with a locally trained tokenizer at OUT (offline)."""
    from pydantic import ValidationError

    from msmkit.errors import ConfigError
    from msmkit.training.tiny import TinyModelSettings, build_tiny_model
    from msmkit.yamlfile import validation_error

    if out.exists():
        raise ConfigError(f"{out} already exists", hint="choose a new folder; nothing was changed")
    try:
        settings = TinyModelSettings.model_validate(_parse_options(options))
    except ValidationError as exc:
        raise validation_error(exc, "--option") from None
    corpus = []
    for path in texts:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                corpus.append(row.get("text") or json.dumps(row.get("messages", "")))
            elif line.strip():
                corpus.append(line)
    build_tiny_model(out, corpus, settings)
    err_console().print(f"tiny model written to {out}")


from msmkit.cli.generate import generate_group as generate_cmd  # noqa: E402

__all__ = ["generate_cmd", "tiny_model_cmd"]
