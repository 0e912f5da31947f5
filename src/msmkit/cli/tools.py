"""``msmkit tiny-model``: a random-weight tiny model built offline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from msmkit.console import err_console


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

    from msmkit.cli.options import parse_options
    from msmkit.errors import ConfigError
    from msmkit.training.tiny import TinyModelSettings, build_tiny_model
    from msmkit.yamlfile import validation_error

    if out.exists():
        raise ConfigError(f"{out} already exists", hint="choose a new folder; nothing was changed")
    try:
        settings = TinyModelSettings.model_validate(parse_options(options))
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


__all__ = ["tiny_model_cmd"]
