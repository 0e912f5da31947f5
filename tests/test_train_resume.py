"""Checkpoints of the ``trl`` backend: a crashed training run, rerun, resumes from its newest
checkpoint and ends with the same weights as a run that was never interrupted; the same holds
through ``msmkit run``, whose training stages keep ``checkpoints/`` in the stage folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_models import make_documents, state_dict_of, write_corpus

from msmkit.components import TrainJob
from msmkit.errors import RunError
from msmkit.training import MANIFEST_NAME, TRLBackend, TRLOptions, build_tiny_model
from msmkit.training.trl import train as trl_train
from msmkit.training.trl.checkpoints import JOB_FILE, claim, latest_checkpoint
from msmkit.training.trl.configs import sft_kwargs

SFT = {
    "max_length": 64,
    "max_steps": 12,
    "save_steps": 4,
    "per_device_train_batch_size": 2,
    "learning_rate": 1e-3,
    "warmup_steps": 0,
    "logging_steps": 1,
}
CRASH_AT = 6


class Crash(RuntimeError):
    pass


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("resume")


@pytest.fixture(scope="module")
def docs() -> list[str]:
    return make_documents(16, min_words=5, max_words=120)


@pytest.fixture(scope="module")
def base(work: Path, docs: list[str]) -> Path:
    return build_tiny_model(work / "base", docs)


@pytest.fixture(scope="module")
def corpus(work: Path, docs: list[str]) -> Path:
    return write_corpus(work / "corpus.jsonl", docs)


def make_job(base: Path, corpus: Path, out: Path, progress=None) -> TrainJob:
    return TrainJob(
        "midtrain", str(base), corpus, out, TRLOptions(sft=dict(SFT)), seed=3, progress=progress
    )


def max_weight_diff(a: Path, b: Path) -> float:
    left, right = state_dict_of(a), state_dict_of(b)
    assert left.keys() == right.keys()
    return max((left[k].float() - right[k].float()).abs().max().item() for k in left)


# -- defaults and the checkpoint folder (no training) ----------------------------------------


def test_checkpoints_are_on_by_default_and_user_keys_win(tmp_path):
    kwargs = sft_kwargs("midtrain", TRLOptions(), output_dir=tmp_path, seed=0)
    assert (kwargs["save_strategy"], kwargs["save_steps"], kwargs["save_total_limit"]) == (
        "steps",
        500,
        2,
    )
    options = TRLOptions(sft={"save_strategy": "no", "save_total_limit": 5})
    kwargs = sft_kwargs("aft", options, output_dir=tmp_path, seed=0)
    assert (kwargs["save_strategy"], kwargs["save_total_limit"]) == ("no", 5)


def test_checkpoints_of_another_job_are_refused(tmp_path):
    folder = tmp_path / "ck"
    assert claim(folder, {"job": 1}) is None
    assert json.loads((folder / JOB_FILE).read_text()) == {"job": 1}
    (folder / "checkpoint-3").mkdir()  # incomplete: no trainer_state.json
    assert latest_checkpoint(folder) is None
    (folder / "checkpoint-2").mkdir()
    (folder / "checkpoint-2" / "trainer_state.json").write_text("{}")
    assert claim(folder, {"job": 1}) == folder / "checkpoint-2"
    with pytest.raises(RunError, match="different training job"):
        claim(folder, {"job": 2})
    (folder / JOB_FILE).unlink()
    with pytest.raises(RunError, match="did not record"):
        claim(folder, {"job": 1})


# -- the backend: crash, rerun, same weights ------------------------------------------------


@pytest.mark.slow
def test_crashed_run_resumes_and_matches_an_uninterrupted_one(work, base, corpus):
    backend = TRLBackend()
    a = backend.train(make_job(base, corpus, work / "a"))
    assert json.loads((a / MANIFEST_NAME).read_text())["checkpoints"]["resumed_from"] is None

    def crash(step: int, total: int) -> None:
        if step == CRASH_AT:
            raise Crash(f"simulated crash at step {step}")

    out = work / "b"
    with pytest.raises(Crash):
        backend.train(make_job(base, corpus, out, progress=crash))
    assert not out.exists()  # no half-written output
    checkpoints = work / "b.checkpoints"
    assert latest_checkpoint(checkpoints) == checkpoints / "checkpoint-4"

    seen: list[int] = []
    b = backend.train(make_job(base, corpus, out, progress=lambda step, total: seen.append(step)))
    info = json.loads((b / MANIFEST_NAME).read_text())
    assert info["steps"] == 12
    assert info["checkpoints"]["resumed_from_step"] == 4
    assert info["checkpoints"]["steps_this_attempt"] == 8
    ran = [step for step in seen if step > 0]
    assert ran == list(range(5, 13))  # the second attempt ran steps 5..12 only
    diff = max_weight_diff(a, b)
    print(f"resumed run: {len(ran)} steps in the second attempt, max |dW| = {diff:.3g}")
    assert diff < 1e-5
    assert max_weight_diff(base, a) > 1e-4  # training did change the weights

    # a finished output is never overwritten
    with pytest.raises(RunError, match="already exists"):
        backend.train(make_job(base, corpus, out))


# -- through msmkit run ----------------------------------------------------------------------

EXPERIMENT = """\
name: resume
base_model: {{tiny: {{hidden_size: 32, num_layers: 1, vocab_size: 600}}}}
defaults:
  generate: {{name: offline, options: {{docs_per_principle: 1}}}}
  midtrain: {{backend: trl, launch: {{launcher: none}}, options: {{sft: {sft}}}}}
arms:
  - name: america
    spec: pro-america
"""


def cli_run(args: list[str]):
    from msmkit.cli import make_cli

    return CliRunner().invoke(make_cli(), args)


@pytest.mark.slow
def test_msmkit_run_resumes_a_crashed_training_stage(tmp_path, monkeypatch):
    from transformers import TrainerCallback

    exp = tmp_path / "resume.yaml"
    exp.write_text(EXPERIMENT.format(sft=json.dumps(SFT)))
    logs = tmp_path / "logs"
    real = trl_train.make_callbacks

    class CrashAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == CRASH_AT:
                raise Crash("simulated crash")

    monkeypatch.setattr(trl_train, "make_callbacks", lambda p: [*real(p), CrashAt()])
    first = cli_run(["run", str(exp), "--log-dir", str(logs)])
    assert first.exit_code != 0
    (stage,) = (logs / "store").glob("midtrain-*")
    assert json.loads((stage / "stage.json").read_text())["status"] == "failed"
    assert latest_checkpoint(stage / "checkpoints") == stage / "checkpoints" / "checkpoint-4"
    assert not (stage / "model").exists()

    monkeypatch.setattr(trl_train, "make_callbacks", real)
    again = cli_run(["run", str(exp), "--log-dir", str(logs)])
    assert again.exit_code == 0, again.output[-3000:]
    record = json.loads((stage / "stage.json").read_text())
    assert record["status"] == "done" and record["attempts"] == 2
    info = json.loads((stage / "model" / MANIFEST_NAME).read_text())
    assert info["checkpoints"]["resumed_from_step"] == 4
    assert info["checkpoints"]["steps_this_attempt"] == 8
    assert (stage / "checkpoints").is_dir()  # kept beside the model
    assert not list(logs.glob("store/*.incomplete-*"))  # nothing was set aside
