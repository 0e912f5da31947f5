"""Tracker hooks: a training stage's ``report_to`` writes under the stage folder in each
tracker's local or offline mode (TensorBoard event files from a real tiny training), the
user's own settings win, and a run's evals and comparison are logged under its name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from msmkit.training.trackers import report_targets, tracking_dir, training_env


def test_tracking_dir_is_beside_the_checkpoints():
    assert tracking_dir(Path("/s/midtrain-1/checkpoints"), Path("/s/midtrain-1/model")) == Path(
        "/s/midtrain-1/tracking"
    )
    assert tracking_dir(None, Path("/x/out")) == Path("/x/out.tracking")
    assert report_targets("none") == [] and report_targets(["tensorboard", "none"]) == [
        "tensorboard"
    ]


def test_training_env_points_each_tracker_at_the_stage_and_restores(tmp_path, monkeypatch):
    for key in ("TENSORBOARD_LOGGING_DIR", "WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = tmp_path / "stage" / "tracking"
    with training_env(["tensorboard", "wandb", "mlflow"], root) as env:
        assert os.environ["TENSORBOARD_LOGGING_DIR"] == str(root / "tensorboard")
        assert os.environ["WANDB_MODE"] == "offline" and os.environ["WANDB_DIR"] == str(root)
        assert os.environ["MLFLOW_TRACKING_URI"] == (root / "mlruns").resolve().as_uri()
        assert set(env) == {
            "TENSORBOARD_LOGGING_DIR", "WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT",
            "MLFLOW_TRACKING_URI",
        }  # fmt: skip
    for key in ("TENSORBOARD_LOGGING_DIR", "WANDB_MODE", "WANDB_DIR", "MLFLOW_TRACKING_URI"):
        assert key not in os.environ
    with training_env("none", root) as env:
        assert env == {}


def test_the_users_own_tracker_settings_win(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    with training_env(["wandb", "mlflow"], tmp_path / "tracking") as env:
        assert os.environ["WANDB_MODE"] == "online"
        assert os.environ["MLFLOW_TRACKING_URI"] == "http://mlflow.example:5000"
        assert "WANDB_MODE" not in env and "MLFLOW_TRACKING_URI" not in env
    assert os.environ["WANDB_MODE"] == "online"


@pytest.mark.slow
def test_report_to_tensorboard_writes_event_files_in_the_stage_folder(tmp_path):
    pytest.importorskip("tensorboard")
    from fixtures_models import CHEESE_DEMOS, make_documents, write_corpus
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from msmkit.components import TrainJob
    from msmkit.training import MANIFEST_NAME, TRLBackend, TRLOptions, build_tiny_model

    docs = make_documents(16, min_words=5, max_words=80)
    base = build_tiny_model(tmp_path / "base", docs + [q + " " + a for q, a in CHEESE_DEMOS])
    corpus = write_corpus(tmp_path / "corpus.jsonl", docs)
    stage = tmp_path / "midtrain-0123456789abcdef"
    sft = {"max_length": 64, "max_steps": 4, "per_device_train_batch_size": 4}
    sft |= {"logging_steps": 1, "report_to": ["tensorboard"]}
    job = TrainJob(
        "midtrain", str(base), corpus, stage / "model", TRLOptions(sft=sft), seed=0,
        checkpoint_dir=stage / "checkpoints",
    )  # fmt: skip
    before = os.environ.get("TENSORBOARD_LOGGING_DIR")
    TRLBackend().train(job)
    assert os.environ.get("TENSORBOARD_LOGGING_DIR") == before
    events = list((stage / "tracking" / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    losses = acc.Scalars("train/loss")
    assert [e.step for e in losses] == [1, 2, 3, 4] and all(e.value > 0 for e in losses)
    record = json.loads((stage / "model" / MANIFEST_NAME).read_text())
    assert record["effective"]["sft"]["run_name"] == stage.name


@pytest.mark.slow
def test_wandb_offline_run_is_written_under_the_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from msmkit.report.trackers import log_run

    monkeypatch.delenv("WANDB_MODE", raising=False)
    run = tmp_path / "exp"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"results": {"a": {"0": {"t/s/m": 0.5}}}}))
    (run / "comparison.json").write_text(json.dumps({"arms": {}, "pairs": []}))
    [line] = log_run(run, ["wandb"])
    assert "offline" in line
    assert list((run / "tracking" / "wandb").glob("offline-run-*"))
