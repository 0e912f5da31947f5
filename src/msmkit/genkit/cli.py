"""Running one generation stage in a folder outside an experiment (``msmkit generate docs``
and ``msmkit generate aft``): under its lock, resumed from its journal, refusing a folder that
holds something else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from msmkit.console import err_console
from msmkit.errors import RunError


def check_out_dir(out: Path, *, what: str = "the generation") -> None:
    """RunError (never a traceback) when OUT cannot be the stage folder: it is a file, or a
    folder above it is."""
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} is a file", hint=f"-o names a folder for {what}")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise RunError(
                    f"{out}: {parent} is a file, so no folder can be made under it",
                    hint=f"-o names a folder for {what}",
                )
            break


def print_estimate(label: str, est: Any, unit: str = "documents") -> None:
    console = err_console()
    console.print(f"{label}: ~{est.items:,} {unit}, ~{est.tokens:,} tokens")
    for step in est.extra.get("steps", []):
        sent = step["input_tokens"] + step["cache_write_tokens"] + step["cache_read_tokens"]
        console.print(
            f"  {step['step']:<11} {step['calls']:>7,} calls  in {sent:>12,}"
            f"  out {step['output_tokens']:>11,}  ${step['dollars']:,.2f}"
        )
    for note in est.notes:
        console.print(f"  {note}")


def run_in_folder(
    kentry: Any,
    opts: Any,
    inputs: dict[str, Any],
    out: Path,
    label: str,
    est: Any,
    *,
    unit: str = "documents",
    echo: bool = True,
) -> dict[str, Any] | None:
    """Run the stage of ``kentry``'s kind with ``opts`` and filled slots ``inputs`` in the
    folder OUT, like any stage of an experiment: under its lock (a second process waits,
    saying who holds it), a half-written attempt resumed from its journal. Returns the
    stage's outputs (also printed as a JSON line, unless ``echo`` is False), or None when it
    is left waiting (a batch out, a probe done)."""
    from msmkit.run.runner import StageJob, run_stage
    from msmkit.run.store import StageDir
    from msmkit.stagekit import stage_fingerprint
    from msmkit.ui import RunUI

    kind = kentry.component
    check_out_dir(out)
    slot_keys = {slot: up.key for slot, up in inputs.items()}
    key = stage_fingerprint(kind, opts, slot_keys)
    stage = StageDir(kind.name, key, out, lock_file=out.parent / f".{out.name}.lock")
    record = stage.record()
    if record and record.get("fingerprint") != key:
        raise RunError(
            f"{out} holds a generation with other settings, spec or prompts",
            hint="nothing was changed; use a new --out folder, or delete this one",
        )
    if out.exists() and not record and any(out.iterdir()):
        raise RunError(f"{out} exists and is not a generation folder", hint="use a new folder")
    if stage.status != "done":
        print_estimate(label, est, unit)
    job = StageJob(
        entry=kentry, options=opts, inputs=inputs, slot_keys=slot_keys, stage=stage, label=label
    )
    result = run_stage(job, run="generate", ui=RunUI())
    if result.status == "waiting":
        return None
    outputs = stage.outputs()
    if echo:
        click.echo(json.dumps({"dir": str(out), **outputs}))
    return outputs
