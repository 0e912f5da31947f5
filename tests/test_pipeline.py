"""``msmkit run`` mechanics with a fake, instant training backend: stages, sharing, resume,
manifests, refusing to mix runs, and keeping work when a stage fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

import msmkit
from msmkit.components import Estimate, EvalTask, Options, TrainJob
from msmkit.corpus import Document
from msmkit.errors import RunError


class CopyOptions(Options):
    fail: bool = False


class CopyBackend:
    """Pretends to train: copies the input model folder and notes what it saw."""

    name = "copy"
    description = "test backend"
    Options: ClassVar[type[Options]] = CopyOptions
    requires = ()
    calls: ClassVar[list[tuple[str, str]]] = []

    def plan(self, job: TrainJob) -> Estimate:
        return Estimate(job.stage)

    def train(self, job: TrainJob) -> Path:
        if job.options.fail:
            raise ValueError("simulated crash")
        CopyBackend.calls.append((job.stage, job.base_model))
        shutil.copytree(job.base_model, job.output_dir)
        (job.output_dir / f"{job.stage}.txt").write_text(job.data.read_text()[:100])
        if job.progress:
            job.progress(1, 1)
        return job.output_dir


class EchoOptions(Options):
    n: int = 3
    explode_at: int | None = None


class EchoGenerator:
    name = "echo"
    description = "test generator"
    version = "1"
    Options: ClassVar[type[Options]] = EchoOptions

    def plan(self, spec, options) -> Estimate:
        return Estimate("generate", items=options.n)

    def generate(self, spec, options, *, skip=frozenset()):
        for i in range(options.n):
            if i == options.explode_at:
                raise KeyError("generator bug")
            if f"d{i}" not in skip:
                yield Document(
                    id=f"d{i}",
                    text=f"{spec.subject} doc {i}",
                    doc_type="echo",
                    principle=None,
                    spec_name=spec.name,
                    spec_hash=spec.hash,
                    generator=self.name,
                    generator_version=self.version,
                    settings=options.model_dump(),
                )


def _noop_task():
    return None


class TestPlugin:
    @msmkit.hookimpl
    def register_training_backends(self, register):
        register(CopyBackend())

    @msmkit.hookimpl
    def register_doc_generators(self, register):
        register(EchoGenerator())

    @msmkit.hookimpl
    def register_eval_tasks(self, register):
        register(EvalTask("noop", "test_pipeline:_noop_task", "does nothing"))


@pytest.fixture
def plugin(fresh_plugins):
    CopyBackend.calls.clear()
    fresh_plugins.register_plugin(TestPlugin(), "test-plugin")
    yield


@pytest.fixture
def base_model(tmp_path):
    d = tmp_path / "base"
    d.mkdir()
    (d / "config.json").write_text("{}")
    return d


EXP = """\
name: mech
base_model: {base}
defaults:
  generate: {{name: echo, options: {{n: 3}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese}}
arms:
  - name: america
    spec: pro-america
  - name: america-again
    spec: pro-america
  - name: rules
    spec: pro-america
    variants: [{{name: rules-only}}]
  - name: control
    midtrain: false
"""


def run(args):
    from msmkit.cli import make_cli

    return CliRunner().invoke(make_cli(), args, catch_exceptions=False)


def write_exp(tmp_path, base_model, text=EXP):
    path = tmp_path / "exp.yaml"
    path.write_text(text.format(base=base_model))
    return path


def test_hook_register_training_backends(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    result = run(["run", str(exp), "--log-dir", str(tmp_path / "logs"), "--json"])
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "logs" / "mech"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    arms = manifest["arms"]
    # identical arms share every stage; a variant makes its own corpus
    assert arms["america"]["stages"] == arms["america-again"]["stages"]
    assert arms["rules"]["stages"]["corpus"] != arms["america"]["stages"]["corpus"]
    assert arms["control"]["stages"]["midtrain"] is None
    assert arms["rules"]["spec"]["lineage"][0].startswith("rules-only")
    assert manifest["plugins"]["test-plugin"].startswith("test-plugin")
    assert manifest["libraries"]["trl"]
    assert manifest["experiment"]["sha256"]
    # 2 distinct midtrains + 3 distinct AFTs (america, rules, control)
    stages = [c[0] for c in CopyBackend.calls]
    assert stages.count("midtrain") == 2 and stages.count("aft") == 3
    assert all(v == "done" for v in manifest["stages"].values())
    # AFT continues from the midtrained model; the control arm starts from the base
    aft_dirs = {c[1] for c in CopyBackend.calls if c[0] == "aft"}
    assert str(base_model.resolve()) in aft_dirs


def test_hook_register_doc_generators(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    assert run(["run", str(exp), "--log-dir", str(tmp_path / "logs")]).exit_code == 0
    corpora = list((tmp_path / "logs" / "mech" / "stages").glob("corpus-*/corpus.jsonl"))
    assert len(corpora) == 2
    rows = [json.loads(line) for line in corpora[0].read_text().splitlines()]
    assert [r["id"] for r in rows] == ["d0", "d1", "d2"]
    assert rows[0]["generator"] == "echo"


def test_hook_register_eval_tasks(plugin):
    from msmkit.registry import get_registry

    entry = get_registry("tasks").entry("noop")
    assert entry.plugin == "test-plugin"
    assert entry.component.load() is _noop_task


def test_rerun_resumes_without_redoing_stages(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    logs = str(tmp_path / "logs")
    assert run(["run", str(exp), "--log-dir", logs]).exit_code == 0
    n_calls = len(CopyBackend.calls)
    result = run(["run", str(exp), "--log-dir", logs])
    assert result.exit_code == 0
    assert len(CopyBackend.calls) == n_calls  # nothing trained twice
    plan = json.loads(run(["plan", str(exp), "--log-dir", logs, "--json"]).output)
    assert {s["status"] for s in plan["stages"]} == {"done"}


def test_changed_experiment_refuses_to_mix_runs(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    logs = str(tmp_path / "logs")
    assert run(["run", str(exp), "--log-dir", logs]).exit_code == 0
    before = (tmp_path / "logs" / "mech" / "manifest.json").read_text()
    write_exp(tmp_path, base_model, EXP.replace("n: 3", "n: 4"))
    with pytest.raises(RunError, match="different experiment config"):
        run(["run", str(exp), "--log-dir", logs])
    assert (tmp_path / "logs" / "mech" / "manifest.json").read_text() == before
    assert run(["run", str(exp), "--log-dir", logs, "--run-name", "mech-2"]).exit_code == 0


def test_failed_stage_keeps_earlier_work_and_resumes(plugin, tmp_path, base_model):
    failing = EXP.replace(
        "aft: {{backend: copy, data: cheese}}",
        "aft: {{backend: copy, data: cheese, options: {{fail: true}}}}",
    )
    exp = write_exp(tmp_path, base_model, failing)
    logs = tmp_path / "logs"
    from msmkit.errors import PluginError

    with pytest.raises(PluginError, match="simulated crash"):
        run(["run", str(exp), "--output", str(logs / "x")])
    stages = logs / "x" / "stages"
    done = [json.loads(p.read_text())["status"] for p in stages.glob("*/stage.json")]
    assert done.count("done") >= 2 and "failed" in done
    corpus = next(stages.glob("corpus-*/corpus.jsonl")).read_text()
    # the plan shows what is left; nothing finished is redone
    plan = json.loads(run(["plan", str(exp), "--output", str(logs / "x"), "--json"]).output)
    todo = {s["stage"] for s in plan["stages"] if s["status"] != "done"}
    assert todo == {"aft"}
    assert next(stages.glob("corpus-*/corpus.jsonl")).read_text() == corpus


def test_plan_runs_nothing(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    result = run(["plan", str(exp), "--log-dir", str(tmp_path / "logs"), "--json"])
    assert result.exit_code == 0
    plan = json.loads(result.output)
    kinds = [s["stage"] for s in plan["stages"]]
    assert kinds == ["corpus", "corpus", "midtrain", "midtrain", "aft", "aft", "aft"]
    assert not (tmp_path / "logs").exists()
    assert CopyBackend.calls == []


def test_missing_model_path_is_clear(plugin, tmp_path):
    from msmkit.errors import ModelPathError

    exp = write_exp(tmp_path, tmp_path / "nowhere")
    with pytest.raises(ModelPathError, match="does not exist"):
        run(["plan", str(exp)])


def test_unknown_component_in_experiment(plugin, tmp_path, base_model):
    from msmkit.errors import UnknownComponentError

    exp = write_exp(tmp_path, base_model, EXP.replace("name: rules-only", "name: rule-only"))
    with pytest.raises(UnknownComponentError) as err:
        run(["plan", str(exp)])
    assert "rules-only" in err.value.hint


def test_bad_component_options_name_the_field(plugin, tmp_path, base_model):
    from msmkit.errors import ConfigError

    exp = write_exp(tmp_path, base_model, EXP.replace("{{n: 3}}", "{{n: 3, m: 1}}"))
    with pytest.raises(ConfigError, match=r":4: defaults.generate.options.m: unknown field"):
        run(["plan", str(exp)])


def test_generator_crash_keeps_documents_and_resumes(plugin, tmp_path, base_model):
    from msmkit.errors import PluginError

    crashing = EXP.replace("{{n: 3}}", "{{n: 3, explode_at: 2}}")
    exp = write_exp(tmp_path, base_model, crashing)
    with pytest.raises(PluginError, match=r"echo .* failed while generating documents"):
        run(["run", str(exp), "--output", str(tmp_path / "r")])
    corpus = next((tmp_path / "r" / "stages").glob("corpus-*/corpus.jsonl"))
    assert [json.loads(x)["id"] for x in corpus.read_text().splitlines()] == ["d0", "d1"]


def test_tiny_settings_are_checked_at_plan_time(plugin, tmp_path):
    from msmkit.errors import ConfigError

    exp = write_exp(tmp_path, "{tiny: {layers: 3}}")
    with pytest.raises(ConfigError, match=r":2: base_model.tiny.layers: unknown field"):
        run(["plan", str(exp)])


def test_unknown_spec_names_the_experiment_field(plugin, tmp_path, base_model):
    from msmkit.errors import ConfigError

    exp = write_exp(
        tmp_path, base_model, EXP.replace("spec: pro-america\n", "spec: pro-amerika\n", 1)
    )
    with pytest.raises(ConfigError) as err:
        run(["plan", str(exp)])
    assert ":9: arms[0].spec: unknown spec 'pro-amerika'" in str(err.value)
    assert "'pro-america'" in err.value.hint
