"""Single-stage commands: ``msmkit generate`` and ``msmkit tiny-model``."""

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


@click.command("generate")
@click.argument("spec")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Corpus JSONL to write. An existing file is resumed (only missing documents are "
    "added) if it holds documents of the same spec, generator and settings.",
)
@click.option(
    "-g",
    "--generator",
    default="offline",
    show_default=True,
    help="Document generator (see `msmkit list generators`).",
)
@click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Generator option, e.g. -O docs_per_principle=4 (YAML values).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME[:KEY=VALUE,...]",
    help="Apply a spec variant first (repeatable, applied in order), e.g. "
    "--variant rules-only or --variant 'attribution:subject=AI systems'.",
)
def generate_cmd(
    spec: str, out: Path, generator: str, options: tuple[str, ...], variants: tuple[str, ...]
) -> None:
    """Generate a document corpus from SPEC (a name or a path) into a JSONL file.

    An existing -o file is resumed: only missing documents are written. That needs every
    document already there to come from the same spec (after variants), generator and
    settings; otherwise the command stops and leaves the file unchanged. --variant takes
    the syntax of `msmkit specs show --variant`.
    """
    from pydantic import ValidationError

    from msmkit.corpus import CorpusWriter, Provenance, check_resumable, corpus_stats
    from msmkit.registry import get_registry
    from msmkit.spec import load_spec
    from msmkit.variants import apply_variants, parse_variant_ref
    from msmkit.yamlfile import validation_error

    refs = [parse_variant_ref(text) for text in variants]
    s = apply_variants(load_spec(spec), refs)
    entry = get_registry("generators").entry(generator)
    gen = entry.component
    try:
        opts = gen.Options.model_validate(_parse_options(options))
    except ValidationError as exc:
        raise validation_error(exc, "--option") from None
    expected = Provenance(
        spec_name=s.name,
        spec_hash=s.hash,
        generator=entry.name,
        generator_version=str(getattr(gen, "version", "0")),
        settings=opts.model_dump(),
    )
    check_resumable(out, expected)  # refuses, changing nothing, if OUT holds other documents
    est = entry.call("planning", gen.plan, s, opts)
    from rich.progress import Progress

    with CorpusWriter(out) as writer, Progress(console=err_console(), transient=True) as bar:
        task = bar.add_task(f"generating from {s.name}", total=est.items)
        bar.advance(task, len(writer.existing_ids))
        documents = entry.call(
            "generating documents", gen.generate, s, opts, skip=writer.existing_ids
        )
        for doc in _guarded(entry, documents):
            writer.write(doc)
            bar.advance(task)
    click.echo(json.dumps({"corpus": str(out), **corpus_stats(out)}))


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
