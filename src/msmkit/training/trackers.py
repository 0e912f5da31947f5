"""Experiment trackers for training stages: TensorBoard, Weights & Biases, MLflow (none
is a dependency).

A ``trl`` stage with ``sft: {report_to: [tensorboard]}`` (or ``wandb``, ``mlflow``) passes it
to the Trainer, and :func:`training_env` points each tracker at the stage folder's
``tracking/`` in its local or offline mode, unless the user's environment already says where
(``TENSORBOARD_LOGGING_DIR``; ``WANDB_MODE``, ``WANDB_DIR``; ``MLFLOW_TRACKING_URI``):

- TensorBoard: event files in ``<stage>/tracking/tensorboard``;
- W&B: ``WANDB_MODE=offline``, runs in ``<stage>/tracking/wandb`` (``wandb sync`` uploads);
- MLflow: a file store at ``<stage>/tracking/mlruns`` (``mlflow ui --backend-store-uri``).

The Trainer's ``run_name`` defaults to the stage's folder name (a stage is shared by every run
that needs it). ``tracking/`` is scratch: not part of the stage's recorded result. The evals'
side is :mod:`msmkit.report.trackers`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TRACKING = "tracking"
KNOWN = ("tensorboard", "wandb", "mlflow")


def tracking_dir(checkpoint_dir: Path | None, output_dir: Path) -> Path:
    """``<stage>/tracking`` beside a stage's ``checkpoints/``; else beside the output."""
    if checkpoint_dir is not None:
        return Path(checkpoint_dir).parent / TRACKING
    out = Path(output_dir)
    return out.with_name(f"{out.name}.{TRACKING}")


def report_targets(report_to: Any) -> list[str]:
    """The Trainer's ``report_to`` as a list of names (``none`` and empty: nothing)."""
    if report_to is None:
        return []
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    return [str(n) for n in names if str(n) not in ("none", "")]


@contextlib.contextmanager
def training_env(report_to: Any, root: Path) -> Iterator[dict[str, str]]:
    """Set the trackers' local/offline settings for one training (restored after)."""
    targets = report_targets(report_to)
    if "all" in targets:
        targets = list(KNOWN)
    env: dict[str, str] = {}
    if "tensorboard" in targets and "TENSORBOARD_LOGGING_DIR" not in os.environ:
        env["TENSORBOARD_LOGGING_DIR"] = str(root / "tensorboard")
    if "wandb" in targets:
        if "WANDB_MODE" not in os.environ:
            env["WANDB_MODE"] = "offline"
        if "WANDB_DIR" not in os.environ:
            env["WANDB_DIR"] = str(root)
        if "WANDB_PROJECT" not in os.environ:
            env["WANDB_PROJECT"] = "msmkit"
    if "mlflow" in targets and "MLFLOW_TRACKING_URI" not in os.environ:
        env["MLFLOW_TRACKING_URI"] = (root / "mlruns").resolve().as_uri()
    if env:
        root.mkdir(parents=True, exist_ok=True)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def default_run_name(config: Any, root: Path) -> None:
    """Name the Trainer's run after the stage folder unless the user named it."""
    if report_targets(getattr(config, "report_to", None)) and getattr(config, "run_name", None) in (
        None,
        "",
        str(getattr(config, "output_dir", "")),
    ):
        config.run_name = root.parent.name
