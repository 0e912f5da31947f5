"""``msmkit generate spec``: one spec -> an LLM-made version of it (value- or rule-augmented,
or its anti-spec), written as a spec file, outside an experiment. The ``llm-spec`` stage runs
in a work folder beside the file, so a rerun sends nothing that was already answered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click

from msmkit.cli.options import checked_estimate, paid_options


@click.command("spec")
@click.argument("spec")
@click.option(
    "--augment",
    type=click.Choice(["value", "rule", "invert"]),
    required=True,
    help="value: explain the values behind each rule (rules kept word for word); rule: "
    "detailed sub-rules instead of reasons; invert: the anti-spec (a research control).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="The spec file to write (e.g. specs/rules-v.md); its name defaults to the file's.",
)
@click.option(
    "--work",
    type=click.Path(path_type=Path),
    help="The stage folder (journal/, steps/; rerun to resume). Default: OUT's stem + .specgen.",
)
@click.option("--model", help="Inspect model name, e.g. anthropic/claude-sonnet-4-5.")
@click.option(
    "--target-words",
    type=click.IntRange(min=50),
    help="value/rule: words of the made spec (default: --ratio x the input's).",
)
@click.option("--ratio", type=click.FloatRange(min=1, min_open=True), help="See --target-words.")
@click.option("--tolerance", type=click.FloatRange(0, 0.1, min_open=True), help="Default 0.02.")
@click.option("--name", help="The made spec's name (default: OUT's file name).")
@paid_options(probe=False)
@click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any llm-spec option, e.g. -O words_per_sub_rule=30 (YAML values).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME[:KEY=VALUE,...]",
    help="Apply a spec variant to SPEC first (repeatable).",
)
def spec_cmd(spec: str, augment: str, out: Path, work: Path | None, **kw: Any) -> None:
    """Write an LLM-made version of SPEC (a name or a path) to OUT.

    A value- and a rule-augmented spec made from one SPEC with the same --ratio (or
    --target-words) land within --tolerance of one target length, so they are length-matched
    to each other. Compare with `msmkit specs diff SPEC OUT`.
    """
    from msmkit.cli.options import parse_options
    from msmkit.spec import load_spec
    from msmkit.spec.model import NAME_RE
    from msmkit.variants import apply_variants, parse_variant_ref

    refs = [parse_variant_ref(text) for text in kw.pop("variants")]
    source = apply_variants(load_spec(spec), refs)
    raw = parse_options(kw.pop("options"))
    raw["augment"] = augment
    flags = {
        "model": kw["model"],
        "target_words": kw["target_words"],
        "ratio": kw["ratio"],
        "tolerance": kw["tolerance"],
        "name": kw["name"],
        "budget_usd": kw["budget"],
        "prompts_dir": kw["prompts_dir"],
        "prices": kw["prices"],
    }
    raw.update({k: v for k, v in flags.items() if v is not None})
    if "name" not in raw and NAME_RE.match(out.stem):
        raw["name"] = out.stem
    if kw["batch"]:
        raw["provider"] = {**raw.get("provider", {}), "batch": True}
    for name in ("prompts_dir", "prices"):
        if raw.get(name):
            raw[name] = str(Path(raw[name]).resolve())
    work = work or out.parent / f"{out.stem}.specgen"
    _run(source, raw, out, work, kw["plan_only"])


def _run(spec: Any, raw: dict[str, Any], out: Path, work: Path, plan_only: bool) -> None:
    from pydantic import ValidationError

    from msmkit.components import Estimate
    from msmkit.errors import RunError
    from msmkit.genkit.cli import check_out_dir, print_estimate, run_in_folder
    from msmkit.registry import get_registry
    from msmkit.specgen.pipeline import require_keys
    from msmkit.stages.llm_spec import WHAT
    from msmkit.stages.spec import external_spec
    from msmkit.yamlfile import validation_error

    kentry = get_registry("stages").entry("llm-spec")
    kind = kentry.component
    try:
        opts = kind.Options.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, "--option") from None
    est = checked_estimate(kind, opts, {"spec": Estimate("spec", artifact=spec)})
    label = f"{WHAT[opts.augment]} of {spec.name} (llm {opts.model})"
    if plan_only:
        print_estimate(label, est, "spec")
        click.echo(json.dumps({"dollars": est.dollars, **est.extra}))
        return
    if out.is_dir():
        raise RunError(f"{out} is a folder", hint="-o names the spec file to write")
    check_out_dir(work, what="the spec generation")
    require_keys(opts)
    outputs = run_in_folder(
        kentry, opts, {"spec": external_spec(spec)}, work, label, est, unit="spec", echo=False
    )
    if outputs is None:
        return  # left waiting (a batch out): the message says so; rerun to collect
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(work / str(outputs["spec"]), out)
    for line in outputs.get("lineage") or []:
        click.echo(f"lineage: {line}", err=True)
    keys = ("name", "hash", "words", "target_words", "window", "dollars", "lineage")
    click.echo(
        json.dumps(
            {"spec": str(out), "dir": str(work), **{k: outputs[k] for k in keys if k in outputs}}
        )
    )
