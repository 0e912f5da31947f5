from __future__ import annotations

from pathlib import Path

import pytest

from msmkit.errors import ConfigError
from msmkit.experiment import load_experiment
from msmkit.run.folder import run_dir_for

GOOD = """\
name: exp
base_model: {tiny: {}}
defaults:
  aft: {data: cheese}
  evals: [{task: value_generalization}]
arms:
  - name: a
    spec: pro-america
  - name: control
    midtrain: false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_valid_experiment_inherits_defaults(tmp_path):
    exp, base = load_experiment(write(tmp_path, GOOD))
    assert base == tmp_path.resolve()
    a, control = exp.arms
    assert exp.midtrain_for(a).backend == "trl"
    assert exp.midtrain_for(control) is None
    assert exp.aft_for(control).data == "cheese"
    assert [e.task for e in exp.evals_for(a)] == ["value_generalization"]


def test_config_hash_changes_with_content(tmp_path):
    one, _ = load_experiment(write(tmp_path, GOOD))
    two, _ = load_experiment(write(tmp_path, GOOD.replace("seed", "x") + "seed: 3\n"))
    assert one.config_hash() != two.config_hash()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("  - name: a\n", "  - name: a\n    colour: red\n"),
            ":8: arms[0].colour: unknown field",
        ),
        (GOOD.replace("name: control", "name: a"), "two arms are named 'a'"),
        (GOOD.replace("name: a\n", "name: ../escape\n"), "arms[0].name: String should match"),
        (GOOD.replace("arms:\n", "arms: []\nx:\n"), "unknown field"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("name: x\narms: [\n", "invalid YAML"),
        (
            GOOD.replace(
                "  - name: control\n    midtrain: false\n",
                "  - name: control\n    variants: [{name: rules-only}]\n",
            ),
            "has variants but no spec",
        ),
    ],
)
def test_invalid_experiments_name_file_line_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_experiment(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_yaml_cannot_execute_code(tmp_path):
    path = write(tmp_path, "name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_experiment(path)


def test_run_name_cannot_leave_the_log_dir(tmp_path):
    assert run_dir_for("ok-name", log_dir=tmp_path) == tmp_path / "ok-name"
    for bad in ("../up", "a/b", "/abs", "..", ""):
        with pytest.raises(ConfigError, match=r"invalid run name|run-name is empty"):
            run_dir_for(bad, log_dir=tmp_path)
    assert run_dir_for("../anything", output=tmp_path / "out") == tmp_path / "out"
