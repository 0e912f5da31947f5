"""``msmkit generate aft``: one spec -> AFT demonstrations, by the LLM pipeline (``llm-aft``,
a folder) or by the offline template generator (``--generator offline``, a JSONL file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from msmkit.cli.options import checked_estimate, paid_options


@click.command("aft")
@click.argument("spec")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="llm: a folder (steps/, journal/, data.jsonl, data_no_reasoning.jsonl; rerun to "
    "resume). offline: the chats JSONL (a _no_reasoning twin is written beside it).",
)
@click.option(
    "-g",
    "--generator",
    type=click.Choice(["llm", "offline"]),
    default="llm",
    show_default=True,
    help="llm (needs an API key) or offline (templates from a structured spec, no network).",
)
@click.option("--model", help="llm: Inspect model name, e.g. anthropic/claude-sonnet-4-5.")
@click.option("--grader-model", help="llm: the grader's model (default: --model).")
@click.option(
    "--style",
    type=click.Choice(["value", "rule", "opaque"]),
    help="value (default): reasoning from the spec's values; rule: cites its rules by name; "
    "opaque (offline only): preferences stated with no reason.",
)
@click.option("--from-spec", help="llm: write the responses from this spec (anti-spec AFT).")
@click.option("--target", type=click.IntRange(min=1), help="Accepted chats to deliver.")
@click.option("--target-tokens", type=click.IntRange(min=1), help="llm: or accepted tokens.")
@click.option(
    "--reasoning/--no-reasoning",
    default=None,
    help="A reasoning part before each response, in its own field (default: on). Both sets "
    "are written either way; --no-reasoning asks for responses only.",
)
@paid_options("llm: ")
@click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Generator option, e.g. -O domains=12 -O criteria=[...] (YAML values).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME[:KEY=VALUE,...]",
    help="Apply a spec variant first (repeatable).",
)
def aft_cmd(spec: str, out: Path, generator: str, **kw: Any) -> None:
    """Generate AFT chat demonstrations from SPEC (a name or a path).

    With the llm generator OUT is a folder: the domains and each round's user prompts are
    saved in OUT/steps/ (edit one and rerun to regenerate only what follows), every paid
    result in OUT/journal/, and a rerun after a crash, a budget stop or a batch wait sends
    only what is missing. OUT/data.jsonl keeps each response's reasoning in its own field;
    OUT/data_no_reasoning.jsonl has the same chats without it.
    """
    from msmkit.cli.options import parse_options
    from msmkit.spec import load_spec
    from msmkit.variants import apply_variants, parse_variant_ref

    refs = [parse_variant_ref(text) for text in kw.pop("variants")]
    s = apply_variants(load_spec(spec), refs)
    raw = parse_options(kw.pop("options"))
    if generator == "offline":
        return _offline(s, out, raw, kw)
    if kw["style"] == "opaque":
        raise click.UsageError("--style opaque is made by the offline generator (-g offline)")
    flags = {
        "model": kw["model"],
        "grader_model": kw["grader_model"],
        "style": kw["style"],
        "target": kw["target"],
        "target_tokens": kw["target_tokens"],
        "reasoning": kw["reasoning"],
        "budget_usd": kw["budget"],
        "prompts_dir": kw["prompts_dir"],
        "prices": kw["prices"],
        "probe": kw["probe"],
    }
    raw.update({k: v for k, v in flags.items() if v is not None})
    if kw["batch"]:
        raw["provider"] = {**raw.get("provider", {}), "batch": True}
    written = load_spec(kw["from_spec"]) if kw["from_spec"] else None
    _llm(s, written, out, raw, kw["plan_only"])


def _llm(spec: Any, written: Any, out: Path, raw: dict[str, Any], plan_only: bool) -> None:
    from pydantic import ValidationError

    from msmkit.aftgen.checks import require_keys
    from msmkit.components import Estimate
    from msmkit.genkit.cli import check_out_dir, print_estimate, run_in_folder
    from msmkit.registry import get_registry
    from msmkit.stages.spec import external_spec
    from msmkit.yamlfile import validation_error

    kentry = get_registry("stages").entry("llm-aft")
    kind = kentry.component
    for name in ("prompts_dir", "prices"):
        if raw.get(name):
            raw[name] = str(Path(raw[name]).resolve())
    try:
        opts = kind.Options.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, "--option") from None
    upstream = {
        "spec": Estimate("spec", artifact=spec),
        "from_spec": Estimate("spec", artifact=written or spec),
    }
    est = checked_estimate(kind, opts, upstream)
    label = f"AFT data from {spec.name} ({kind.label(opts).removeprefix('AFT data (')}"
    if written is not None:
        label = label[:-1] + f", written from {written.name})"
    if plan_only:
        print_estimate(label, est, "chats")
        click.echo(json.dumps({"chats": est.items, "dollars": est.dollars, **est.extra}))
        return
    check_out_dir(out, what="the AFT data")
    require_keys(opts)
    inputs = {"spec": external_spec(spec), "from_spec": external_spec(written or spec)}
    run_in_folder(kentry, opts, inputs, out, label, est, unit="chats")


def _offline(spec: Any, out: Path, raw: dict[str, Any], kw: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from msmkit.aftgen.subsets import row_tokens, without_reasoning, write_rows
    from msmkit.errors import RunError
    from msmkit.stages.aft_data import OfflineAFTOptions, make_offline
    from msmkit.yamlfile import validation_error

    llm_only = ("model", "grader_model", "from_spec", "target_tokens", "budget", "prompts_dir",
                "prices", "probe")  # fmt: skip
    given = [k for k in llm_only if kw.get(k) is not None] + (["batch"] if kw["batch"] else [])
    if given:
        raise click.UsageError(f"--{given[0].replace('_', '-')} is for the llm generator")
    if kw["style"]:
        raw["style"] = kw["style"]
    if kw["reasoning"] is not None:
        raw["reasoning"] = kw["reasoning"]
    try:
        opts = OfflineAFTOptions.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, "--option") from None
    rows = make_offline(spec, opts)
    if kw["target"] is not None:
        rows = rows[: kw["target"]]
    if kw["plan_only"]:
        click.echo(json.dumps({"chats": len(rows), "dollars": 0.0}))
        return
    if out.is_dir():
        raise RunError(f"{out} is a folder", hint="-o names the chats JSONL file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    twin = out.with_name(f"{out.stem}_no_reasoning{out.suffix or '.jsonl'}")
    write_rows(out, rows)
    write_rows(twin, [without_reasoning(r) for r in rows])
    click.echo(
        json.dumps(
            {
                "data": str(out),
                "data_no_reasoning": str(twin),
                "items": len(rows),
                "tokens": sum(row_tokens(r) for r in rows),
            }
        )
    )
