"""Ablation matrices: axes expanded into arms named by their coordinates, every common stage
shared, errors naming the axis value's line, declared contrasts corrected with Holm."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from msmkit.errors import ConfigError

EXP = """\
name: grid
base_model: {base}
defaults:
  generate: {{name: echo, options: {{n: 2}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese}}
  stages: [generate, midtrain, aft, {{stage: score-model, name: score}}]
matrix:
  axes:
    spec: [pro-affordability, pro-america]
    variant: [none, rules-only]
    lr:
      values: [1.0, 2.0]
      set: {{aft.options.lr: "{{value}}"}}
    seed: [0, 1]
{extra}"""


def write(tmp_path: Path, base: Path, extra: str = "", text: str | None = None) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text if text is not None else EXP.format(base=base, extra=extra))
    return path


def test_a_matrix_expands_into_named_arms_sharing_stages(plugin, tmp_path, base_model):
    import msmkit

    graph = msmkit.Run(write(tmp_path, base_model), log_dir=tmp_path / "logs").plan()
    assert len(graph.arms) == 8 and graph.exp.all_seeds() == [0, 1]
    assert sum(len(info.chains) for info in graph.arms.values()) == 16  # arm x seed
    assert sorted(graph.arms)[:2] == [
        "pro-affordability-none-lr1.0",
        "pro-affordability-none-lr2.0",
    ]
    assert graph.arms["pro-america-rules-only-lr2.0"].axes == {
        "spec": "pro-america",
        "variant": "rules-only",
        "lr": 2.0,
    }
    kinds = Counter(n.kind.name for n in graph.ordered())
    # shared: a spec and a corpus per (spec, variant) for all lrs and seeds, a midtrain per
    # (spec, variant, seed); unique to an arm and seed: its AFT and its score
    assert kinds == {
        "spec": 4,
        "corpus": 4,
        "midtrain": 8,
        "aft": 16,
        "score-model": 16,
    }
    shared = [n for n in graph.ordered() if len(n.arms) > 1]
    assert len(shared) == 16 and len(graph.ordered()) - len(shared) == 32
    result = msmkit.run_experiment(write(tmp_path, base_model), log_dir=tmp_path / "logs")
    assert result.complete and len(result.computed) == len(graph.ordered())
    manifest = result.manifest
    assert manifest["arms"]["pro-america-none-lr1.0"]["axes"]["lr"] == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (("pro-america]", "pro-amrica]"), r"exp.yaml:10: matrix.axes.spec\[1\]: .*unknown spec"),
        (
            ("rules-only]", "rules-onyl]"),
            r"exp.yaml:11: matrix.axes.variant\[1\]:.*unknown variant",
        ),
        (("    seed: [0, 1]", "    seed: [0, true]"), r"exp.yaml:15: matrix.axes.seed\[1\]"),
        (
            ("    seed: [0, 1]", "    seed: [0, 1]\n  exclude: [{{colour: red}}]"),
            r"exp.yaml:16: matrix.exclude\[0\].colour: 'colour' is not an axis",
        ),
    ],
)
def test_matrix_errors_name_the_axis_line(plugin, tmp_path, base_model, text, message):
    import msmkit

    old, new = text
    body = EXP.format(base=base_model, extra="").replace(
        old.replace("{{", "{").replace("}}", "}"), new.replace("{{", "{").replace("}}", "}")
    )
    with pytest.raises(ConfigError, match=message):
        msmkit.Run(write(tmp_path, base_model, text=body), log_dir=tmp_path / "l").plan()


def test_unknown_axis_without_set_is_an_error(plugin, tmp_path, base_model):
    import msmkit

    body = EXP.format(base=base_model, extra="").replace(
        "    seed: [0, 1]", "    colour: [red, blue]\n    seed: [0, 1]"
    )
    with pytest.raises(ConfigError, match=r"matrix.axes.colour: axis 'colour' is not one"):
        msmkit.Run(write(tmp_path, base_model, text=body), log_dir=tmp_path / "l").plan()


def test_declared_contrasts_resolve_and_are_named(plugin, tmp_path, base_model):
    import msmkit

    pair = "[pro-america-none-lr1.0, pro-america-none-lr2.0]"
    extra = f"compare:\n  contrasts: [{{axis: variant}}, {pair}]\n"
    graph = msmkit.Run(write(tmp_path, base_model, extra), log_dir=tmp_path / "l").plan()
    assert len(graph.pairs) == 5  # 4 variant pairs (spec x lr), one explicit
    assert ("pro-affordability-none-lr1.0", "pro-affordability-rules-only-lr1.0") in graph.pairs
    bad = extra.replace("pro-america-none-lr2.0", "nobody")
    with pytest.raises(ConfigError, match=r"exp.yaml:17: compare.contrasts\[1\]\[1\]: no arm"):
        msmkit.Run(write(tmp_path, base_model, bad), log_dir=tmp_path / "l2").plan()


def test_holm_adjusts_p_values_in_order():
    from msmkit.compare import holm

    # worked by hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, kept monotone
    assert holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_an_in_context_arm_evaluates_the_base_with_the_spec_as_system_prompt(
    plugin, tmp_path, base_model
):
    import msmkit
    from msmkit.spec import load_spec

    exp = tmp_path / "exp.yaml"
    exp.write_text(
        f"name: ctx\nbase_model: {base_model}\n"
        "defaults:\n  evals: [{task: noop}]\n"
        "arms:\n  - {name: in-context, spec: pro-america, in_context: true}\n"
        "  - {name: plain, midtrain: false}\n"
    )
    graph = msmkit.Run(exp, log_dir=tmp_path / "l").plan()
    evals = {n.arms[0]: n for n in graph.ordered() if n.kind.name == "eval"}
    system = evals["in-context"].options.generate["system_message"]
    assert system == load_spec("pro-america").text()
    assert "system_message" not in evals["plain"].options.generate
    assert evals["in-context"].slots["model"].key == evals["plain"].slots["model"].key
    assert not [n for n in graph.ordered() if n.kind.name in ("midtrain", "aft", "corpus")]
    json.dumps(graph.arms["in-context"].axes)


DOSES = """\
name: doses
base_model: {base}
defaults:
  generate: {{name: echo, options: {{n: 40}}}}
  midtrain: {{backend: copy}}
  aft: null
matrix:
  axes:
    spec: [pro-america]
    msm_tokens: [40, 80, full]
"""


def test_doses_are_nested_subsets_of_one_corpus(plugin, tmp_path, base_model):
    import msmkit

    exp = write(tmp_path, base_model, text=DOSES.format(base=base_model))
    result = msmkit.run_experiment(exp, log_dir=tmp_path / "logs")
    graph = result.graph
    corpora = [n for n in graph.ordered() if n.kind.name == "corpus"]
    assert len(corpora) == 1  # one generation, three doses
    trained = {}
    for info in graph.arms.values():
        text = (info.chains[0].midtrain.stage.dir / "model" / "midtrain.txt").read_text()
        trained[info.axes["msm_tokens"]] = {json.loads(line)["id"] for line in text.splitlines()}
    assert trained[40] < trained[80] < trained["full"]
    assert len(trained["full"]) == 40
    doses = {
        n.options.tokens: n.stage.outputs()
        for n in graph.ordered()
        if n.kind.name == "corpus-subset"
    }
    assert doses[40]["tokens"] >= 40 and doses[80]["tokens"] >= 80
    assert doses[40]["tokens"] < doses[80]["tokens"]


MATCHED = """\
name: matched
base_model: {base}
defaults:
  midtrain: {{backend: copy}}
  aft: null
token_match:
  - {{what: corpus, by: samples, arms: [small, large]}}
arms:
  - {{name: small, spec: pro-america, generate: {{name: echo, options: {{n: 5}}}}}}
  - {{name: large, spec: pro-affordability, generate: {{name: echo, options: {{n: 12}}}}}}
  - {{name: alone, spec: pro-affordability, generate: {{name: echo, options: {{n: 9}}}}}}
"""


def test_token_matching_cuts_each_arm_to_the_groups_smallest(plugin, tmp_path, base_model):
    import msmkit

    exp = write(tmp_path, base_model, text=MATCHED.format(base=base_model))
    result = msmkit.run_experiment(exp, log_dir=tmp_path / "logs")
    sizes = {}
    for name, info in result.graph.arms.items():
        text = (info.chains[0].midtrain.stage.dir / "model" / "midtrain.txt").read_text()
        sizes[name] = len(text.splitlines())
    assert sizes == {"small": 5, "large": 5, "alone": 9}
    matches = {
        n.arms[0]: n.stage.outputs()
        for n in result.graph.ordered()
        if n.kind.name == "corpus-match"
    }
    assert matches["large"]["own"] == 12 and matches["large"]["matched_to"] == 5
    assert matches["small"]["kept"] == 5 and "alone" not in matches


def test_a_condition_axis_sets_what_each_value_needs(plugin, tmp_path, base_model):
    import msmkit

    text = f"""\
name: conditions
base_model: {base_model}
defaults:
  generate: {{name: echo, options: {{n: 2}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese}}
matrix:
  axes:
    spec: [pro-america]
    condition:
      values: [msm-aft, msm, aft]
      cases: {{msm: {{aft: false}}, aft: {{spec: null, midtrain: false}}}}
"""
    graph = msmkit.Run(write(tmp_path, base_model, text=text), log_dir=tmp_path / "l").plan()
    chains = {name: info.chains[0] for name, info in graph.arms.items()}
    assert set(chains) == {"pro-america-msm-aft", "pro-america-msm", "pro-america-aft"}
    assert chains["pro-america-msm-aft"].midtrain and chains["pro-america-msm-aft"].aft
    assert chains["pro-america-msm"].midtrain and chains["pro-america-msm"].aft is None
    assert chains["pro-america-aft"].midtrain is None and chains["pro-america-aft"].aft
    assert graph.arms["pro-america-aft"].spec is None


def test_spec_files_on_an_axis_name_arms_by_file_name(plugin, tmp_path, base_model):
    import msmkit
    from msmkit.spec import load_spec

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for name in ("pro-affordability", "pro-america"):
            (tmp_path / folder / f"{name}.md").write_text(load_spec(name).path.read_text())
    text = EXP.format(base=base_model, extra="").replace(
        "spec: [pro-affordability, pro-america]",
        f"spec: [{tmp_path}/a/pro-affordability.md, {tmp_path}/a/pro-america.md]",
    )
    graph = msmkit.Run(write(tmp_path, base_model, text=text), log_dir=tmp_path / "l").plan()
    assert sorted(graph.arms)[0] == "pro-affordability-none-lr1.0"  # not the folders' path
    assert graph.arms["pro-america-none-lr1.0"].axes["spec"] == f"{tmp_path}/a/pro-america.md"
    # two files of one name in different folders would share arm names: an error, not a merge
    clash = text.replace(f"{tmp_path}/a/pro-america.md", f"{tmp_path}/b/pro-affordability.md")
    with pytest.raises(ConfigError, match=r"pro-affordability-none-lr1\.0") as err:
        msmkit.Run(write(tmp_path, base_model, text=clash), log_dir=tmp_path / "l").plan()
    assert f"spec={tmp_path}/a/pro-affordability.md" in err.value.message
    assert f"spec={tmp_path}/b/pro-affordability.md" in err.value.message
