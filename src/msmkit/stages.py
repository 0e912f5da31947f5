"""Running a planned stage: generate, build the tiny base, train, evaluate.

Each function turns one ``StagePlan`` into outputs recorded in its ``stage.json``. Plugin code
is called through ``call_plugin`` so its unexpected errors become short ``PluginError``s.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from msmkit.components import TrainJob
from msmkit.errors import MsmkitError, PluginError
from msmkit.experiment import EvalRef
from msmkit.hashing import sha256_file
from msmkit.pipeline import ArmPlan, Pipeline, StagePlan, call_plugin, plugin_error
from msmkit.registry import Entry


def run_stage(pipe: Pipeline, sp: StagePlan, ui: Any) -> None:
    """Run one stage unless it is already done; record start, outputs or failure."""
    kind = sp.stage.kind
    if sp.stage.done:
        ui.skipped(sp)
        return
    sp.stage.start(sp.inputs)
    if kind != "corpus":
        _quiet_transformers()
    try:
        if kind == "corpus":
            outputs = _generate(pipe, sp, ui)
        elif kind == "base":
            outputs = _build_base(pipe, sp)
        elif kind in ("midtrain", "aft"):
            outputs = _train(pipe, sp, ui)
        else:
            outputs = _eval(pipe, sp, ui)
    except BaseException as exc:
        sp.stage.fail(f"{type(exc).__name__}: {exc}")
        raise
    sp.stage.finish(outputs)
    ui.finished(sp)


def _generate(pipe: Pipeline, sp: StagePlan, ui: Any) -> dict[str, Any]:
    from msmkit.corpus import CorpusWriter, corpus_stats

    path = sp.stage.dir / "corpus.jsonl"
    gen: Entry = sp.data["generator"]
    with CorpusWriter(path) as writer, ui.progress(sp, total=sp.estimate.items) as advance:
        already = writer.existing_ids
        advance(len(already))
        try:
            for doc in gen.component.generate(sp.data["spec"], sp.data["options"], skip=already):
                writer.write(doc)  # flushed line by line: a crash loses nothing
                advance(1)
        except MsmkitError:
            raise
        except Exception as exc:
            raise plugin_error(gen, "generating documents", exc) from exc
    (sp.stage.dir / "spec.md").write_text(sp.data["spec"].render())
    return {"corpus": str(path), "sha256": sha256_file(path), **corpus_stats(path)}


def _build_base(pipe: Pipeline, sp: StagePlan) -> dict[str, Any]:
    from msmkit.corpus import read_corpus
    from msmkit.training.tiny import build_tiny_model

    texts: list[str] = []
    for other in pipe.stages.values():
        if other.stage.kind == "corpus":
            texts += [d.text for d in read_corpus(Path(other.stage.outputs()["corpus"]))]
        if other.stage.kind == "aft":
            for line in Path(other.data["data"]).read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    texts += [m["content"] for m in row.get("messages", [])]
    settings = pipe.tiny_settings()
    out = sp.stage.dir / "model"
    _move_aside(out)
    build_tiny_model(out, texts, settings)
    return {"model": str(out)}


def _train(pipe: Pipeline, sp: StagePlan, ui: Any) -> dict[str, Any]:
    backend: Entry = sp.data["backend"]
    if sp.stage.kind == "midtrain":
        base, data = pipe.base_model(), Path(sp.data["corpus"].stage.outputs()["corpus"])
    else:
        prev = sp.data["after"]
        base = prev.stage.outputs()["model"] if prev is not None else pipe.base_model()
        data = Path(sp.data["data"])
    out = sp.stage.dir / "model"
    _move_aside(out)
    with ui.progress(sp, total=None) as advance:
        job = TrainJob(
            stage=sp.stage.kind,
            base_model=str(base),
            data=data,
            output_dir=out,
            options=sp.data["options"],
            seed=pipe.exp.seed,
            progress=lambda step, total: advance(step, total=total, absolute=True),
        )
        call_plugin(backend, "planning training", backend.component.plan, job)
        result = call_plugin(backend, "training", backend.component.train, job)
    return {"model": str(result)}


def _eval(pipe: Pipeline, sp: StagePlan, ui: Any) -> dict[str, Any]:
    from inspect_ai import eval_set

    tentry: Entry = sp.data["task"]
    ref: EvalRef = sp.data["ref"]
    ap: ArmPlan = sp.data["arm_plan"]
    model_path = pipe.model_dir(ap)
    task_fn = call_plugin(tentry, "loading the task", tentry.component.load)
    task = call_plugin(tentry, "building the task", task_fn, **ref.args)
    settings = pipe.exp.eval
    log_dir = sp.stage.dir / "logs"
    ui.note(f"evaluating [bold]{tentry.name}[/] on {ap.arm.name}")
    # The checkpoint path goes in the model name (hf//abs/path), not -M model_path: then
    # nothing looks "local" up on the hub, and Inspect never mixes two checkpoints' caches.
    model = (
        f"hf/{Path(model_path).resolve()}" if Path(str(model_path)).exists() else f"hf/{model_path}"
    )
    # Inspect's plain display writes to stdout, which msmkit keeps for results.
    with contextlib.redirect_stdout(sys.stderr):
        success, logs = eval_set(
            tasks=[task],
            model=model,
            model_args={"do_sample": False, **settings.model_args},
            log_dir=str(log_dir),
            max_tokens=settings.max_tokens,
            max_connections=settings.max_connections,
            limit=settings.limit,
            display=ui.inspect_display,
            log_level="warning",
        )
    if not success or not logs or logs[0].status != "success":
        raise PluginError(
            f"evaluation {tentry.name} did not finish (logs in {log_dir})",
            hint="rerun the same command to retry; `inspect view --log-dir "
            f"{log_dir}` shows what happened",
        )
    log = logs[0]
    metrics: dict[str, float] = {}
    for score in log.results.scores if log.results else []:
        for name, metric in score.metrics.items():
            metrics[name] = metric.value
    return {
        "log": log.location,
        "metrics": metrics,
        "samples": log.results.completed_samples if log.results else 0,
    }


def _quiet_transformers() -> None:
    """transformers draws a progress bar for every tiny load and save; msmkit draws its own."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # a backend plugin that does without transformers
        return
    hf_logging.disable_progress_bar()


def _move_aside(path: Path) -> None:
    """A model folder from an interrupted attempt is kept, renamed, never overwritten."""
    if path.exists():
        path.rename(path.with_name(f"{path.name}.incomplete-{int(time.time())}"))
