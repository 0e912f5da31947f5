"""The open arm graph: the spec as an artifact, plugin kinds placed anywhere in an arm's
steps, stages across arms, executors from plugins, and the library entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stage_plugins import CopyBackend

from msmkit.errors import ConfigError

EXP = """\
name: open
base_model: {base}
defaults:
  generate: {{name: echo, options: {{n: 2}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy}}
{defaults}arms:
  - name: america
    spec: pro-america
  - name: rules
    spec: pro-america
    variants: [{{name: rules-only}}]
{extra}"""


def write(tmp_path: Path, base: Path, defaults: str = "", extra: str = "") -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(EXP.format(base=base, defaults=defaults, extra=extra))
    return path


STAGES = """\
  stages:
    - generate
    - midtrain
    - {stage: spec-chats, name: demos}
    - aft
    - {stage: score-model, name: score}
across_arms:
  - {stage: arm-report}
"""


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_kind_consuming_the_spec_sits_mid_arm_and_a_report_spans_arms(
    plugin, tmp_path, base_model, monkeypatch
):
    import msmkit
    from msmkit.spec import load_spec

    principles = len(load_spec("pro-america").principles)
    stage_log = tmp_path / "stages.log"
    monkeypatch.setenv("MSMKIT_TEST_STAGE_LOG", str(stage_log))
    exp = write(tmp_path, base_model, defaults=STAGES)
    run = msmkit.Run(exp, log_dir=tmp_path / "logs")
    graph = run.plan()
    kinds = [n.kind.name for n in graph.ordered()]
    assert kinds.count("spec-chats") == 2 and kinds.count("arm-report") == 1
    report = next(n for n in graph.ordered() if n.kind.name == "arm-report")
    assert sorted(report.slots) == ["eval/america/0/score", "eval/rules/0/score"]
    chats = {n.arms[0]: n for n in graph.ordered() if n.kind.name == "spec-chats"}
    assert chats["rules"].slots["spec"].label.startswith("spec pro-america [rules-only")
    # the plan-time spec reached the estimate
    assert chats["america"].estimate.items == principles

    run.budget_usd = 2.5  # the run's dollar cap reaches every stage's context
    result = run.execute()
    assert result.complete
    # each arm's AFT trained on the chats made from its own spec (variants applied)
    aft_data = [job for job in CopyBackend.calls if job[0] == "aft"]
    assert len(aft_data) == 2
    trained = {
        arm: (Path(graph.arms[arm].chains[0].aft.stage.dir) / "model" / "aft.txt").read_text()
        for arm in ("america", "rules")
    }
    assert len(trained["america"].splitlines()) == principles
    assert len(trained["rules"]) < len(trained["america"])  # rules-only: no explanations
    assert sorted(lines(stage_log)) == [
        "arm-report",
        "spec-chats pro-america 0",
        "spec-chats pro-america 1",
    ]
    out = json.loads((report.stage.dir / "report.json").read_text())
    assert {slot: row["score"] for slot, row in out.items()} == {
        "eval/america/0/score": 2,  # midtrain.txt and aft.txt
        "eval/rules/0/score": 2,
    }
    assert {row["budget"] for row in out.values()} == {2.5}
    manifest = result.manifest
    assert manifest["across_arms"] == [report.id]
    # what reproducing it needs: the code, the command, and time per stage
    source = manifest["source"]
    assert len(source["commit"]) == 40 and isinstance(source["dirty"], bool)
    assert manifest["argv"] and manifest["msmkit_version"] == msmkit.__version__
    assert all(s["seconds"] is not None for s in manifest["stages"].values())
    assert manifest["totals"] == {"dollars": 0, "gpu_seconds": 0}
    assert [e["name"] for e in manifest["arms"]["rules"]["seeds"][0]["evals"]] == ["score"]
    # a rerun finds everything done; the report ran once
    again = msmkit.run_experiment(exp, log_dir=tmp_path / "logs")
    assert again.computed == [] and lines(stage_log).count("arm-report") == 1


def test_tiny_base_reads_stage_made_chats(plugin, tmp_path):
    import msmkit

    exp = tmp_path / "exp.yaml"
    stages = "  stages: [generate, midtrain, {stage: spec-chats}, aft]\n"
    exp.write_text(EXP.format(base="{tiny: {hidden_size: 16}}", defaults=stages, extra=""))
    graph = msmkit.Run(exp, log_dir=tmp_path / "logs").plan()
    base = next(n for n in graph.ordered() if n.kind.name == "tiny-base")
    made = {s: v.kind.name for s, v in base.slots.items()}
    assert sorted(made.values()) == ["corpus", "corpus", "spec-chats", "spec-chats"]


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        (
            "  stages: [{stage: shout}, generate]\n",
            r"exp.yaml:7: defaults.stages\[0\].stage: stage kind 'shout' needs a corpus",
        ),
        (
            "  stages: [generate, {stage: spec-chats, inputs: {spec: nowhere}}]\n",
            r"defaults.stages\[1\].inputs.spec: no step named 'nowhere'",
        ),
        (
            "  stages: [generate, {stage: spec-chats, inputs: {spec: generate}}]\n",
            r"step 'generate' makes a corpus; slot 'spec' of 'spec-chats' needs a spec",
        ),
        (
            "  stages: [generate, midtrian]\n",
            r"defaults.stages\[1\]",
        ),
        (
            "  stages: [generate, {stage: spec-chats, name: midtrain}]\n",
            r"'midtrain' is the name of a built-in step",
        ),
    ],
)
def test_bad_steps_fail_at_plan_naming_the_line(plugin, tmp_path, base_model, defaults, message):
    import msmkit

    exp = write(tmp_path, base_model, defaults=defaults)
    with pytest.raises(ConfigError, match=message):
        msmkit.Run(exp, log_dir=tmp_path / "logs").plan()
    assert not (tmp_path / "logs").exists()


def test_a_report_across_arms_needs_starred_slots(plugin, tmp_path, base_model):
    import msmkit

    exp = write(
        tmp_path,
        base_model,
        defaults="  stages: [generate, midtrain]\n",
        extra="across_arms:\n  - {stage: score-model}\n",
    )
    with pytest.raises(ConfigError, match="across arms takes every arm's artifacts"):
        msmkit.Run(exp, log_dir=tmp_path / "logs").plan()


def test_hook_register_executors(plugin, tmp_path, base_model):
    """A plugin's executor gets the stage context: it saves its job id before waiting, the
    run exits leaving the stage waiting, and a rerun collects the same job."""
    import msmkit

    service = tmp_path / "queue"
    service.mkdir()
    launch = f"launch: {{launcher: fake-queue, options: {{service: '{service}'}}}}"
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        EXP.format(base=base_model, defaults="", extra="")
        .replace("  midtrain: {backend: copy}", f"  midtrain: {{backend: copy-queued, {launch}}}")
        .replace("  aft: {backend: copy}\n", "")
    )
    first = msmkit.run_experiment(exp, log_dir=tmp_path / "logs")
    assert sorted(first.waiting.values()) == ["job-1 is queued", "job-2 is queued"]
    records = [
        json.loads(p.read_text())
        for p in (tmp_path / "logs" / "store").glob("midtrain-*/stage.json")
    ]
    assert sorted(r["waiting"]["job_id"] for r in records) == ["job-1", "job-2"]
    assert all(r["status"] == "waiting" for r in records)
    (service / "job-1.release").touch()
    second = msmkit.run_experiment(exp, log_dir=tmp_path / "logs")
    assert list(second.waiting.values()) == ["job-2 is queued"]  # collected, not resubmitted
    (service / "job-2.release").touch()
    third = msmkit.run_experiment(exp, log_dir=tmp_path / "logs")
    assert third.complete
    submitted = sorted(p.name for p in service.glob("*.submitted"))
    assert submitted == ["job-1.submitted", "job-2.submitted"]  # each job submitted once
    assert [c[0] for c in CopyBackend.calls] == ["midtrain", "midtrain"]
    # the executor is a runtime choice: the same stages without it are the same fingerprints
    plain = exp.read_text().replace(f", {launch}", "").replace("copy-queued", "copy")
    assert "fake-queue" not in plain


def test_an_unknown_executor_fails_at_plan(plugin, tmp_path, base_model):
    import msmkit

    exp = tmp_path / "exp.yaml"
    exp.write_text(
        EXP.format(base=base_model, defaults="", extra="").replace(
            "  midtrain: {backend: copy}",
            "  midtrain: {backend: copy-queued, launch: {launcher: slurn}}",
        )
    )
    with pytest.raises(ConfigError, match=r"defaults.midtrain.launch.launcher: unknown executor"):
        msmkit.Run(exp, log_dir=tmp_path / "logs").plan()


def test_a_failing_arm_leaves_the_others_finished(plugin, tmp_path, base_model):
    from click.testing import CliRunner

    from msmkit.cli import make_cli

    exp = write(
        tmp_path,
        base_model,
        defaults="  stages: [generate, midtrain, aft, {stage: score-model, name: score}]\n",
    )
    text = exp.read_text().replace("  aft: {backend: copy}", "  aft: {backend: copy, data: cheese}")
    text = text.replace(
        "    variants: [{name: rules-only}]\n",
        "    variants: [{name: rules-only}]\n    aft: {backend: copy, data: cheese, "
        "options: {fail: true}}\n",
    )
    exp.write_text(text)
    result = CliRunner().invoke(
        make_cli(), ["run", str(exp), "--log-dir", str(tmp_path / "logs"), "--json"]
    )
    assert result.exit_code == 1
    assert "simulated crash" in str(result.exception)
    out = json.loads(result.stdout)
    (failed,) = out["failed"]
    assert failed.startswith("aft-") and "simulated crash" in out["failed"][failed]
    manifest = json.loads((tmp_path / "logs" / "open" / "manifest.json").read_text())
    status = {
        arm: {
            manifest["stages"][s]["kind"]: manifest["stages"][s]["status"]
            for s in seeds[0]["steps"]
        }
        for arm, seeds in ((a, v["seeds"]) for a, v in manifest["arms"].items())
    }
    assert status["america"] == {
        "spec": "done",
        "corpus": "done",
        "midtrain": "done",
        "aft": "done",
        "score-model": "done",
    }
    assert status["rules"]["aft"] == "failed" and status["rules"]["score-model"] == "blocked"


def test_status_page_is_refreshed_after_every_stage_while_the_run_goes_on(
    plugin, tmp_path, base_model
):
    """What ``msmkit run`` hooks in (``status_hook``): the page on disk after each update
    shows the stages done so far and the rest still to do."""
    import re

    import msmkit
    from msmkit.cli.report import status_hook

    seen: list[tuple[int, int, str]] = []

    def hook(run, statuses):
        status_hook(run, statuses)
        page = (run.folder.path / "status.html").read_text()
        done = sum(1 for s in statuses.values() if s == "done")
        seen.append((done, len(run.graph.ordered()), page))

    exp = write(tmp_path, base_model)
    exp.write_text(
        exp.read_text().replace("  aft: {backend: copy}", "  aft: {backend: copy, data: cheese}")
    )
    run = msmkit.Run(exp, log_dir=tmp_path / "logs", on_update=hook)
    assert run.execute().complete
    total = seen[-1][1]
    dones = [done for done, _, _ in seen]
    assert dones[0] == 0 and dones[-1] == total and dones == sorted(dones)
    assert set(range(total + 1)) <= set(dones)  # a refresh after every stage
    for done, _, page in seen:  # the page says what the run said at that moment
        line = re.search(rf"{total} stages: ([^<;]*);", page)
        assert line, page[:500]
        shown = dict((state, int(n)) for n, state in re.findall(r"(\d+) (\w+)", line.group(1)))
        assert shown.get("done", 0) == done
