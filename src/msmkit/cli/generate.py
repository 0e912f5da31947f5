"""``msmkit generate docs``: one spec -> a document corpus, by the LLM pipeline or a
template generator (``--generator offline``), outside an experiment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from msmkit.cli.options import checked_estimate, paid_options
from msmkit.console import err_console


@click.group("generate")
def generate_group() -> None:
    """Generate training data outside an experiment."""


@generate_group.command("docs")
@click.argument("spec")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="llm: a folder (steps/, journal/, corpus.jsonl; rerun to resume). Other generators: "
    "the corpus JSONL, resumed if it holds documents of the same spec, generator and settings.",
)
@click.option(
    "-g",
    "--generator",
    default="llm",
    show_default=True,
    help="llm (the LLM pipeline, needs an API key), offline (templates, no network), or "
    "another registered generator (`msmkit list generators`).",
)
@click.option("--model", help="llm: Inspect model name, e.g. anthropic/claude-sonnet-4-5.")
@click.option("--target-tokens", type=click.IntRange(min=1), help="llm: corpus size to aim for.")
@paid_options("llm: ")
@click.option("--mode", type=click.Choice(["default", "rules"]), help="llm: rules-only documents.")
@click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Generator option, e.g. -O docs_per_principle=4 or -O subject=humans (YAML values).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME[:KEY=VALUE,...]",
    help="Apply a spec variant first (repeatable, applied in order), e.g. "
    "--variant rules-only or --variant 'attribution:subject=AI systems'.",
)
def docs_cmd(
    spec: str,
    out: Path,
    generator: str,
    model: str | None,
    target_tokens: int | None,
    batch: bool,
    budget: float | None,
    mode: str | None,
    prompts_dir: str | None,
    prices: str | None,
    plan_only: bool,
    probe: int | None,
    options: tuple[str, ...],
    variants: tuple[str, ...],
) -> None:
    """Generate documents about SPEC (a name or a path).

    With the llm generator (the default) OUT is a folder: every step's output is saved in
    OUT/steps/ (edit one and rerun to regenerate only what follows), every paid result in
    OUT/journal/, and a rerun after a crash, a budget stop or a batch wait sends only what is
    missing. Without an API key it stops before sending anything.
    """
    from msmkit.cli.options import parse_options
    from msmkit.registry import get_registry
    from msmkit.spec import load_spec
    from msmkit.variants import apply_variants, parse_variant_ref

    refs = [parse_variant_ref(text) for text in variants]
    s = apply_variants(load_spec(spec), refs)
    entry = get_registry("generators").entry(generator)
    raw = parse_options(options)
    llm_flags = {
        "model": model,
        "target_tokens": target_tokens,
        "budget_usd": budget,
        "mode": mode,
        "prompts_dir": prompts_dir,
        "prices": prices,
    }
    if getattr(entry.component, "stage_kind", None) is None:
        given = [k for k, v in llm_flags.items() if v is not None] + (["batch"] if batch else [])
        given += ["probe"] if probe is not None else []
        if given:
            raise click.UsageError(f"--{given[0].replace('_', '-')} is for the llm generator")
        return _offline(entry, s, out, raw, plan_only)
    raw.update({k: v for k, v in llm_flags.items() if v is not None})
    if batch:
        raw["provider"] = {**raw.get("provider", {}), "batch": True}
    _llm(entry, s, out, raw, plan_only, probe)


def _validated(entry: Any, raw: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from msmkit.yamlfile import validation_error

    try:
        return entry.component.Options.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, "--option") from None


def _llm(
    entry: Any, spec: Any, out: Path, raw: dict[str, Any], plan_only: bool, probe: int | None
) -> None:
    """The LLM pipeline as one stage in the folder OUT, run like any stage of an experiment:
    under its lock (a second process waits, saying who holds it), with a half-written
    attempt resumed from its journal."""
    from msmkit.components import Estimate
    from msmkit.genkit.cli import check_out_dir, print_estimate, run_in_folder
    from msmkit.registry import get_registry
    from msmkit.stages.spec import external_spec

    settings = _validated(entry, raw)
    opts = entry.component.stage_options(settings, Path.cwd())
    if probe is not None:
        opts = opts.model_copy(update={"probe": probe})
    kentry = get_registry("stages").entry(entry.component.stage_kind)
    kind = kentry.component
    est = checked_estimate(kind, opts, {"spec": Estimate("spec", artifact=spec)})
    label = f"generate {spec.name} {kind.label(opts).removeprefix('generate ')}"
    if plan_only:
        print_estimate(label, est)
        click.echo(json.dumps({"documents": est.items, "dollars": est.dollars, **est.extra}))
        return
    check_out_dir(out)
    from msmkit.docgen import pipeline

    pipeline.require_key(settings)
    run_in_folder(kentry, opts, {"spec": external_spec(spec)}, out, label, est)


def _offline(entry: Any, s: Any, out: Path, raw: dict[str, Any], plan_only: bool) -> None:
    from rich.progress import Progress

    from msmkit.cli.options import guarded
    from msmkit.corpus import CorpusWriter, Provenance, check_resumable, corpus_stats
    from msmkit.errors import RunError
    from msmkit.run.store import hold_lock

    gen = entry.component
    opts = _validated(entry, raw)
    expected = Provenance(
        spec_name=s.name,
        spec_hash=s.hash,
        generator=entry.name,
        generator_version=str(getattr(gen, "version", "0")),
        settings=opts.model_dump(),
    )
    est = entry.call("planning", gen.plan, s, opts)
    if plan_only:
        click.echo(json.dumps({"documents": est.items, "tokens": est.tokens, "dollars": 0.0}))
        return
    if out.is_dir():
        raise RunError(f"{out} is a folder", hint="-o names the corpus JSONL file to write")
    lock = out.parent / f".{out.name}.lock"

    def held(holder: str) -> None:
        err_console().print(f"[yellow]…[/] {out} is being written by {holder}; waiting")

    with hold_lock(lock, what=str(out), run="generate", on_wait=held):
        check_resumable(out, expected)  # refuses, changing nothing, if OUT holds others
        with CorpusWriter(out) as writer, Progress(console=err_console(), transient=True) as bar:
            task = bar.add_task(f"generating from {s.name}", total=est.items)
            bar.advance(task, len(writer.existing_ids))
            documents = entry.call(
                "generating documents", gen.generate, s, opts, skip=writer.existing_ids
            )
            for doc in guarded(entry, documents):
                writer.write(doc)
                bar.advance(task)
    click.echo(json.dumps({"corpus": str(out), **corpus_stats(out)}))


def _add_aft() -> None:
    from msmkit.cli.generate_aft import aft_cmd

    generate_group.add_command(aft_cmd)


_add_aft()
