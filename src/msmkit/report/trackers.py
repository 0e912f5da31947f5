"""Logging a run's eval metrics and comparison to experiment trackers (TensorBoard, W&B,
MLflow; none is a dependency), under the run's name, in ``<run>/tracking``, each in its local
or offline mode unless the environment says otherwise (``WANDB_MODE``,
``MLFLOW_TRACKING_URI``). Training stages log to the same trackers through the Trainer's
``report_to`` (:mod:`msmkit.training.trackers`).
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Any

from msmkit.errors import PrerequisiteError
from msmkit.training.trackers import TRACKING

# ------------------------------------------------------------------- a run's results


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def run_scalars(run_dir: Path) -> tuple[str, dict[str, float]]:
    """The run's name and its numbers as flat tracker keys: ``eval/<arm>/seed=<s>/<metric>``
    (the evals' own metrics) and ``comparison/<arm>/<column>/{value,ci95_low,ci95_high}``,
    ``pairs/<column>/<a> - <b>/{diff,p_value}`` (from ``comparison.json``)."""
    from msmkit.files import read_json

    manifest = read_json(run_dir / "manifest.json")
    comparison = read_json(run_dir / "comparison.json")
    out: dict[str, float] = {}
    for arm, seeds in (manifest.get("results") or {}).items():
        for seed, metrics in (seeds or {}).items():
            for key, value in (metrics or {}).items():
                if (number := _finite(value)) is not None:
                    out[f"eval/{arm}/seed={seed}/{key}"] = number
    for arm, cells in (comparison.get("arms") or {}).items():
        for column, cell in (cells or {}).items():
            if not cell:
                continue
            ci = cell.get("ci95") or [None, None]
            for name, value in (
                ("value", cell.get("value")),
                ("ci95_low", ci[0]),
                ("ci95_high", ci[1]),
            ):
                if (number := _finite(value)) is not None:
                    out[f"comparison/{arm}/{column}/{name}"] = number
    for pair in comparison.get("pairs") or []:
        base = f"pairs/{pair['metric']}/{pair['a']} - {pair['b']}"
        for name in ("diff", "p_value"):
            if (number := _finite(pair.get(name))) is not None:
                out[f"{base}/{name}"] = number
    return run_dir.name, out


def _missing(name: str, package: str) -> PrerequisiteError:
    return PrerequisiteError(
        f"logging to {name} needs the {package} package", hint=f"pip install {package}"
    )


def _tensorboard(run_dir: Path, name: str, scalars: dict[str, float]) -> str:
    try:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise _missing("TensorBoard", "tensorboard") from None
    folder = run_dir / TRACKING / "tensorboard" / name
    writer = EventFileWriter(str(folder))
    now = time.time()
    for tag, value in scalars.items():
        value_pb = Summary.Value(tag=tag, simple_value=value)
        writer.add_event(Event(wall_time=now, step=0, summary=Summary(value=[value_pb])))
    writer.close()
    return f"TensorBoard: {len(scalars)} scalars in {folder} (tensorboard --logdir {folder})"


def _wandb(run_dir: Path, name: str, scalars: dict[str, float]) -> str:
    try:
        import wandb
    except ImportError:
        raise _missing("W&B", "wandb") from None
    folder = run_dir / TRACKING
    folder.mkdir(parents=True, exist_ok=True)
    mode = os.environ.get("WANDB_MODE", "offline")
    run = wandb.init(
        project=os.environ.get("WANDB_PROJECT", "msmkit"),
        name=name,
        dir=str(folder),
        mode=mode,
        job_type="eval",
    )
    try:
        run.log(scalars)
        run.summary.update(scalars)
    finally:
        run.finish()
    return f"W&B ({mode}): {len(scalars)} values in {folder / 'wandb'} (wandb sync to upload)"


_MLFLOW_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")


def _mlflow(run_dir: Path, name: str, scalars: dict[str, float]) -> str:
    try:
        import mlflow
    except ImportError:
        raise _missing("MLflow", "mlflow") from None
    local = (run_dir / TRACKING / "mlruns").resolve().as_uri()
    uri = os.environ.get("MLFLOW_TRACKING_URI") or local
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "msmkit"))
    clean = {_MLFLOW_BAD.sub("_", key): value for key, value in scalars.items()}
    with mlflow.start_run(run_name=name):
        mlflow.log_metrics(clean)
        comparison = run_dir / "comparison.json"
        if comparison.is_file():
            mlflow.log_artifact(str(comparison))
    return f"MLflow: {len(clean)} metrics at {uri} (run {name})"


WRITERS = {"tensorboard": _tensorboard, "wandb": _wandb, "mlflow": _mlflow}


def log_run(run_dir: Path, trackers: tuple[str, ...] | list[str]) -> list[str]:
    """Log a finished run's eval metrics and comparison to each tracker; one line each."""
    name, scalars = run_scalars(Path(run_dir))
    return [WRITERS[t](Path(run_dir), name, scalars) for t in dict.fromkeys(trackers)]
