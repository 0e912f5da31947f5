"""``msmkit run`` mechanics with a fake, instant training backend: the stage graph, the shared
store, resume, manifests, and keeping work when a stage fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from stage_plugins import CopyBackend, _noop_task

from msmkit.errors import ConfigError, PluginError, RunError

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


def write_exp(tmp_path, base_model, text=EXP, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(text.format(base=base_model))
    return path


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def test_hook_register_training_backends(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    result = run(["run", str(exp), "--log-dir", str(tmp_path / "logs"), "--json"])
    assert result.exit_code == 0, result.output
    manifest = manifest_of(tmp_path / "logs" / "mech")
    arms = manifest["arms"]
    # identical arms share every stage; a variant makes its own corpus
    assert arms["america"]["seeds"] == arms["america-again"]["seeds"]
    assert arms["rules"]["seeds"][0]["corpus"] != arms["america"]["seeds"][0]["corpus"]
    assert arms["control"]["seeds"][0]["midtrain"] is None
    assert arms["rules"]["spec"]["lineage"][0].startswith("rules-only")
    assert manifest["plugins"]["test-plugin"].startswith("test-plugin")
    assert manifest["libraries"]["trl"]
    assert manifest["experiment"]["sha256"]
    # 2 distinct midtrains + 3 distinct AFTs (america, rules, control)
    stages = [c[0] for c in CopyBackend.calls]
    assert stages.count("midtrain") == 2 and stages.count("aft") == 3
    assert {s["status"] for s in manifest["stages"].values()} == {"done"}
    # AFT continues from the midtrained model; the control arm starts from the base
    aft_dirs = {c[1] for c in CopyBackend.calls if c[0] == "aft"}
    assert str(base_model.resolve()) in aft_dirs
    # stages live in the shared store, not in the run folder
    assert not (tmp_path / "logs" / "mech" / "stages").exists()
    assert len(list((tmp_path / "logs" / "store").glob("midtrain-*/stage.json"))) == 2


def test_hook_register_doc_generators(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    assert run(["run", str(exp), "--log-dir", str(tmp_path / "logs")]).exit_code == 0
    corpora = list((tmp_path / "logs" / "store").glob("corpus-*/corpus.jsonl"))
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
    result = run(["run", str(exp), "--log-dir", logs, "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["computed"] == []
    assert len(CopyBackend.calls) == n_calls  # nothing trained twice
    plan = json.loads(run(["plan", str(exp), "--log-dir", logs, "--json"]).stdout)
    assert {s["status"] for s in plan["stages"]} == {"done"}


def test_failed_stage_keeps_earlier_work_and_resumes(plugin, tmp_path, base_model):
    failing = EXP.replace(
        "aft: {{backend: copy, data: cheese}}",
        "aft: {{backend: copy, data: cheese, options: {{fail: true}}}}",
    )
    exp = write_exp(tmp_path, base_model, failing)
    logs = tmp_path / "logs"
    with pytest.raises(PluginError, match="simulated crash"):
        run(["run", str(exp), "--log-dir", str(logs)])
    store = logs / "store"
    done = [json.loads(p.read_text())["status"] for p in store.glob("*/stage.json")]
    # a failure stops only what needs it: 2 specs, 2 corpora and both midtrains are done,
    # and each arm's AFT (america, rules, control) ran and failed
    assert done.count("done") == 6 and done.count("failed") == 3
    corpus = next(store.glob("corpus-*/corpus.jsonl")).read_text()
    # the plan shows what is left; nothing finished is redone
    plan = json.loads(run(["plan", str(exp), "--log-dir", str(logs), "--json"]).stdout)
    status = [(s["kind"], s["status"]) for s in plan["stages"]]
    assert [k for k, st in status if st == "failed"] == ["aft", "aft", "aft"]
    assert [st for k, st in status if k == "corpus"] == ["done", "done"]
    assert sorted(st for _, st in status).count("done") == 6
    assert next(store.glob("corpus-*/corpus.jsonl")).read_text() == corpus
    # the manifest says where it stopped
    stages = manifest_of(logs / "mech")["stages"]
    assert sorted(s["status"] for s in stages.values() if s["kind"] == "aft")[0] == "failed"


def test_plan_runs_nothing_and_shows_the_graph(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    result = run(["plan", str(exp), "--log-dir", str(tmp_path / "logs"), "--json"])
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    kinds = [s["kind"] for s in plan["stages"]]
    assert kinds == [
        *("spec", "spec", "corpus", "corpus"),
        *("midtrain", "aft", "midtrain", "aft", "aft"),
    ]
    by_id = {s["id"]: s for s in plan["stages"]}
    for stage in plan["stages"]:  # every consumed stage comes earlier in the list
        for needed in stage["needs"].values():
            if needed in by_id:
                assert plan["stages"].index(by_id[needed]) < plan["stages"].index(stage)
    rules_corpus = next(s for s in plan["stages"] if s["arms"] == ["rules"])
    assert "rules-only" in rules_corpus["what"]  # the plan tells variant arms apart
    assert not (tmp_path / "logs").exists()
    assert CopyBackend.calls == []


def test_missing_model_path_is_clear(plugin, tmp_path):
    exp = write_exp(tmp_path, tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"exp.yaml:2: base_model: .* does not exist"):
        run(["plan", str(exp)])


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("name: rules-only", "name: rule-only", ":14: arms[2].variants[0].name: unknown variant"),
        ("name: echo", "name: ecoh", ":4: defaults.generate.name: unknown generator 'ecoh'"),
        ("backend: copy}", "backend: cpy}", ":5: defaults.midtrain.backend: unknown backend"),
    ],
)
def test_unknown_component_names_file_and_line(plugin, tmp_path, base_model, old, new, where):
    exp = write_exp(tmp_path, base_model, EXP.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        run(["plan", str(exp)])
    assert where in str(err.value)
    assert "did you mean" in err.value.hint


def test_bad_component_options_name_the_field(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model, EXP.replace("{{n: 3}}", "{{n: 3, m: 1}}"))
    with pytest.raises(ConfigError, match=r":4: defaults.generate.options.m: unknown field"):
        run(["plan", str(exp)])


def test_backend_validate_errors_name_file_and_line(plugin, tmp_path, base_model):
    bad = EXP.replace(
        "aft: {{backend: copy, data: cheese}}",
        "aft:\n    backend: copy\n    data: cheese\n    options: {{lr: -1}}",
    )
    exp = write_exp(tmp_path, base_model, bad)
    with pytest.raises(ConfigError) as err:
        run(["run", str(exp), "--log-dir", str(tmp_path / "logs")])
    assert ":9: defaults.aft.options.lr: must be positive" in str(err.value)
    assert not (tmp_path / "logs").exists()  # failed before any stage ran
    assert CopyBackend.calls == []


def test_generator_crash_keeps_documents_and_resumes(plugin, tmp_path, base_model):
    crashing = EXP.replace("{{n: 3}}", "{{n: 3, explode_at: 2}}")
    exp = write_exp(tmp_path, base_model, crashing)
    with pytest.raises(PluginError, match=r"echo .* failed while generating documents"):
        run(["run", str(exp), "--log-dir", str(tmp_path / "logs")])
    corpus = next((tmp_path / "logs" / "store").glob("corpus-*/corpus.jsonl"))
    assert [json.loads(x)["id"] for x in corpus.read_text().splitlines()] == ["d0", "d1"]


def test_tiny_settings_are_checked_at_plan_time(plugin, tmp_path):
    exp = write_exp(tmp_path, "{tiny: {layers: 3}}")
    with pytest.raises(ConfigError, match=r":2: base_model.tiny.layers: unknown field"):
        run(["plan", str(exp)])


def test_unknown_spec_names_the_experiment_field(plugin, tmp_path, base_model):
    exp = write_exp(
        tmp_path, base_model, EXP.replace("spec: pro-america\n", "spec: pro-amerika\n", 1)
    )
    with pytest.raises(ConfigError) as err:
        run(["plan", str(exp)])
    assert ":9: arms[0].spec: unknown spec 'pro-amerika'" in str(err.value)
    assert "'pro-america'" in err.value.hint


def test_run_folder_of_another_experiment_is_refused(plugin, tmp_path, base_model):
    exp = write_exp(tmp_path, base_model)
    logs = str(tmp_path / "logs")
    assert run(["run", str(exp), "--log-dir", logs]).exit_code == 0
    before = (tmp_path / "logs" / "mech" / "manifest.json").read_text()
    other = write_exp(tmp_path, base_model, EXP.replace("name: mech", "name: other"), "o.yaml")
    with pytest.raises(RunError, match="holds a run of experiment 'mech'"):
        run(["run", str(other), "--log-dir", logs, "--run-name", "mech"])
    assert (tmp_path / "logs" / "mech" / "manifest.json").read_text() == before


TRL_EXP = """\
name: trl-typo
base_model: {{tiny: {{}}}}
defaults:
  midtrain:
    backend: trl
    options: {{sft: {{max_steps: 1}}}}
  aft:
    backend: trl
    data: cheese
    options:
      sft: {{{sft}}}
arms:
  - name: a
    spec: pro-america
"""


@pytest.mark.parametrize(
    ("sft", "where", "hint"),
    [
        ("num_train_epoch: 2", ":11: defaults.aft.options.sft.num_train_epoch", "num_train_epochs"),
        ("num_train_epochs: two", ":11: defaults.aft.options.sft.num_train_epochs", ""),
        ("learning_rate: -0.1", ":11: defaults.aft.options.sft.learning_rate", ""),
        ("per_device_train_batch_size: 0", ":11: defaults.aft.options.sft.per_device", ""),
    ],
)
def test_a_typo_in_aft_training_options_fails_the_plan(tmp_path, sft, where, hint):
    exp = tmp_path / "exp.yaml"
    exp.write_text(TRL_EXP.format(sft=sft))
    for command in ("plan", "run"):
        with pytest.raises(ConfigError) as err:
            run([command, str(exp), "--log-dir", str(tmp_path / "logs")])
        assert where in str(err.value)
        assert hint in (err.value.hint or "")
    assert not (tmp_path / "logs").exists()  # nothing was generated or trained
