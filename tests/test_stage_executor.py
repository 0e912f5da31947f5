"""Whole stages run by an executor elsewhere (``executor: {name: process}``): each stage's
job is written to its folder, a worker process runs the kind, and this process records the
result; the same outputs as running in process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from msmkit.errors import ConfigError

HERE = Path(__file__).parent

EXP = """\
name: elsewhere
base_model: {base}
executor: {executor}
defaults:
  generate: {{name: echo, options: {{n: 3}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese}}
arms:
  - {{name: america, spec: pro-america}}
"""


def write(tmp_path: Path, base: Path, executor: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(EXP.format(base=base, executor=executor))
    return path


def test_every_stage_runs_in_a_worker_process(plugin, tmp_path, base_model, monkeypatch):
    import msmkit

    train_log = tmp_path / "train.log"
    monkeypatch.setenv("MSMKIT_TEST_TRAIN_LOG", str(train_log))
    run = msmkit.Run(write(tmp_path, base_model, "{name: process}"), log_dir=tmp_path / "logs")
    graph = run.plan()  # plugins are loaded here; only the workers read MSMKIT_PLUGINS
    monkeypatch.setenv("MSMKIT_PLUGINS", "test-plugin=stage_plugin_hooks")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    result = run.execute()
    assert result.complete and len(result.computed) == 4  # spec, corpus, midtrain, aft
    for node in graph.ordered():
        folder = node.stage.dir
        assert (folder / "stage_job.json").is_file() and (folder / "stage_job.log").is_file()
        assert not (folder / "stage_result.json").exists()  # read and recorded as stage.json
        assert json.loads((folder / "stage.json").read_text())["status"] == "done"
    assert [line.split()[0] for line in train_log.read_text().splitlines()] == ["midtrain", "aft"]
    aft = graph.arms["america"].chains[0].aft
    assert (aft.stage.dir / "model" / "aft.txt").is_file()
    corpus = graph.arms["america"].chains[0].corpus
    assert corpus.stage.outputs()["documents"] == 3


@pytest.mark.parametrize(
    ("executor", "message"),
    [
        ("{name: accelerate}", r"executor.name: executor 'accelerate' runs training jobs"),
        ("{name: slurn}", r"executor.name: unknown executor 'slurn'"),
        ("{name: process, options: {queue: x}}", r"executor.options.queue: unknown field"),
        (
            "{kinds: {midtrain: {name: nope}}}",
            r"executor.kinds.midtrain.name: unknown executor 'nope'",
        ),
    ],
)
def test_bad_executors_fail_at_plan(plugin, tmp_path, base_model, executor, message):
    import msmkit

    with pytest.raises(ConfigError, match=message):
        msmkit.Run(write(tmp_path, base_model, executor), log_dir=tmp_path / "l").plan()


def test_executor_per_kind(plugin, tmp_path, base_model):
    import msmkit

    graph = msmkit.Run(
        write(tmp_path, base_model, "{kinds: {midtrain: {name: process}}}"),
        log_dir=tmp_path / "l",
    ).plan()
    placed = {graph.nodes[i].kind.name for i in graph.executors}
    assert placed == {"midtrain"}
