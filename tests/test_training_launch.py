"""Training in its own process: the serialized job, progress and errors across the process
boundary, the launch options checked at plan time, and a real two-process (gloo, CPU) DDP run
under ``accelerate launch`` that writes one model from rank 0."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from fixtures_models import make_documents, write_corpus

from msmkit.components import TrainJob
from msmkit.errors import ConfigError, OptionError
from msmkit.executors.local import generated_config
from msmkit.training import MANIFEST_NAME, TRLOptions, build_tiny_model
from msmkit.training.launch import (
    LaunchSettings,
    check_launch,
    job_payload,
    launch_command,
    run_job,
)

SFT = {"max_length": 64, "per_device_train_batch_size": 2, "logging_steps": 1}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("launch")


@pytest.fixture(scope="module")
def docs() -> list[str]:
    return make_documents(12, min_words=5, max_words=60)


@pytest.fixture(scope="module")
def base(work: Path, docs: list[str]) -> Path:
    return build_tiny_model(work / "base", docs)


@pytest.fixture(scope="module")
def corpus(work: Path, docs: list[str]) -> Path:
    return write_corpus(work / "corpus.jsonl", docs)


def make_job(base: Path, data: Path, out: Path, progress=None) -> tuple[TrainJob, dict]:
    options = TRLOptions(sft=SFT)
    job = TrainJob("midtrain", str(base), data, out / "model", options, seed=1, progress=progress)
    return job, job_payload(job, "trl", options.model_dump(mode="json"))


# -- plan-time checks (no process started) ----------------------------------------------------


def test_launch_options_are_checked(tmp_path, monkeypatch):
    check_launch(LaunchSettings())
    check_launch(LaunchSettings(launcher="accelerate", num_processes=4))
    with pytest.raises(OptionError, match="needs launcher: accelerate") as info:
        check_launch(LaunchSettings(num_processes=2))
    assert info.value.loc == ("num_processes",)
    with pytest.raises(OptionError, match="config file not found") as info:
        check_launch(LaunchSettings(launcher="accelerate", config_file=str(tmp_path / "no.yaml")))
    assert info.value.loc == ("config_file",)
    with pytest.raises(ValueError):
        LaunchSettings(launcher="accelerate", num_processes=0)
    with pytest.raises(OptionError, match="unknown executor 'lsf'") as info:
        check_launch(LaunchSettings(launcher="lsf"))  # no plugin registers it
    assert info.value.loc == ("launcher",)
    with pytest.raises(OptionError, match="runs whole stages") as info:
        check_launch(LaunchSettings(launcher="slurm"))  # a stage executor, not a launcher
    assert info.value.loc == ("launcher",)
    with pytest.raises(OptionError, match="unknown field") as info:
        check_launch(LaunchSettings(options={"partition": "gpu"}))  # process takes none
    assert info.value.loc == ("options", "partition")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "accelerate" else real(name)
    )
    with pytest.raises(OptionError, match="needs the accelerate package"):
        check_launch(LaunchSettings(launcher="accelerate"))


def test_accelerate_command_and_generated_config(tmp_path):
    job_file = tmp_path / "train_job.json"
    command = launch_command(LaunchSettings(launcher="accelerate", num_processes=2), job_file)
    assert command[1:3] == ["-m", "accelerate.commands.launch"]
    assert command[-3:] == ["-m", "msmkit.training.worker", str(job_file)]
    config = (tmp_path / "train_job.accelerate.yaml").read_text()
    assert "distributed_type: MULTI_GPU" in config and "num_processes: 2" in config
    assert "NO" in generated_config(1)
    user = tmp_path / "fsdp.yaml"
    user.write_text("distributed_type: FSDP\n")
    settings = LaunchSettings(
        launcher="accelerate", config_file=str(user), launch_args=["--num_machines", "2"]
    )
    command = launch_command(settings, job_file)
    assert command[3:5] == ["--config_file", str(user)]
    assert "--num_processes" not in command  # the user's config decides
    assert command[5:7] == ["--num_machines", "2"]


def test_msmkit_plan_names_the_bad_launch_option(tmp_path):
    from click.testing import CliRunner

    from msmkit.cli import make_cli

    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "name: launch\n"
        "base_model: {tiny: {hidden_size: 32, num_layers: 1, vocab_size: 600}}\n"
        "defaults:\n"
        "  generate: {name: offline, options: {docs_per_principle: 1}}\n"
        "  midtrain:\n"
        "    backend: trl\n"
        "    launch: {launcher: accelerate, config_file: missing.yaml}\n"
        "arms:\n"
        "  - name: america\n"
        "    spec: pro-america\n"
    )
    result = CliRunner().invoke(make_cli(), ["plan", str(exp)])
    assert result.exit_code != 0
    message = str(result.exception)
    assert "accelerate config file not found" in message and "exp.yaml:7" in message


# -- across the process boundary ----------------------------------------------------------------


@pytest.mark.slow
def test_an_error_in_the_training_process_is_raised_with_its_message(tmp_path, base):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": 3}\n')
    job, payload = make_job(base, bad, tmp_path)
    with pytest.raises(ConfigError, match="needs a string 'text' field"):
        run_job(LaunchSettings(), job, tmp_path / "train_job.json", payload)
    assert not (tmp_path / "model").exists()
    assert (tmp_path / "train_job.log").is_file()


@pytest.mark.slow
def test_two_processes_under_accelerate_train_one_model(work, base, corpus):
    from transformers import AutoModelForCausalLM

    out = work / "ddp"
    seen: list[tuple[int, int]] = []
    job, payload = make_job(base, corpus, out, progress=lambda s, t: seen.append((s, t)))
    settings = LaunchSettings(launcher="accelerate", num_processes=2)
    started = time.monotonic()
    result = run_job(settings, job, out / "train_job.json", payload)
    wall = time.monotonic() - started
    print(f"two-process accelerate run: {wall:.1f} s")

    info = json.loads((result / MANIFEST_NAME).read_text())
    dist = info["distributed"]
    assert dist["world_size"] == 2 and dist["type"] == "MULTI_CPU"
    assert dist["global_batch_size"] == 2 * SFT["per_device_train_batch_size"]
    rows = info["tokens"]["after"]["rows"]
    assert info["steps"] == math.ceil(rows / dist["global_batch_size"])  # both ranks took rows
    assert seen and seen[-1] == (info["steps"], info["steps"])  # progress came from rank 0
    AutoModelForCausalLM.from_pretrained(result)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("train_job")) == [
        "model",
        "model.checkpoints",
    ]  # one model dir, no staging folder left by another rank
    assert "[rank 1]" in (out / "train_job.log").read_text()  # the second rank ran the job


def test_shipped_accelerate_configs_parse_and_resolve_by_name():
    from accelerate.commands.config.config_args import load_config_from_file

    from msmkit.training.launch import bundled_configs

    configs = bundled_configs()
    assert set(configs) == {"ddp", "zero2", "zero3", "fsdp2"}
    kinds = {
        name: str(load_config_from_file(str(path)).distributed_type)
        for name, path in configs.items()
    }
    assert kinds["zero3"].endswith("DEEPSPEED") and kinds["fsdp2"].endswith("FSDP")
    check_launch(LaunchSettings(launcher="accelerate", config_file="zero3"))
    command = launch_command(
        LaunchSettings(launcher="accelerate", config_file="fsdp2", num_processes=4), Path("j.json")
    )
    assert command[3:7] == ["--config_file", str(configs["fsdp2"]), "--num_processes", "4"]


def test_only_launchable_backends_run_in_a_worker():
    from msmkit.training import TRLBackend
    from msmkit.training.launch import is_launchable

    class InProcess:
        name = "copy"

    assert is_launchable(TRLBackend()) and not is_launchable(InProcess())
    check_launch(LaunchSettings(), backend=InProcess())  # the default: trains in-process
    check_launch(LaunchSettings(launcher="none"), backend=InProcess())
    with pytest.raises(OptionError, match="only in the msmkit process"):
        check_launch(LaunchSettings(launcher="accelerate"), backend=InProcess())
