"""``executor: {name: background}``: each stage in its own local process, ``max_jobs`` at
once; the controller starts every stage whose inputs are done and collects each as its
process ends; the same outputs as running in process, a failure reported with its error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent

EXP = """\
name: side-by-side
base_model: {base}
executor: {{name: background, options: {{max_jobs: {jobs}}}}}
defaults:
  generate: {{name: echo, options: {{n: 3, sleep: 1.0}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese{aft}}}
arms:
  - {{name: america, spec: pro-america}}
  - {{name: affordability, spec: pro-affordability}}
"""

pytestmark = pytest.mark.slow  # eight worker processes, each importing msmkit


def run(tmp_path: Path, base: Path, monkeypatch, jobs: int, aft: str = ""):
    import msmkit

    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base, jobs=jobs, aft=aft))
    gen_log = tmp_path / "gen.log"
    monkeypatch.setenv("MSMKIT_TEST_GEN_LOG", str(gen_log))
    r = msmkit.Run(exp, log_dir=tmp_path / "logs", poll_s=0.2)
    graph = r.plan()
    monkeypatch.setenv("MSMKIT_PLUGINS", "test-plugin=stage_plugin_hooks")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    result = r.execute()
    lines = [line.split() for line in gen_log.read_text().splitlines()]
    return graph, result, lines


def test_independent_stages_run_at_once_in_their_own_processes(plugin, tmp_path, base_model,
                                                              monkeypatch):  # fmt: skip
    graph, result, lines = run(tmp_path, base_model, monkeypatch, jobs=2)
    assert result.complete and len(result.computed) == 8  # spec, corpus, midtrain, aft x 2
    specs = [spec for spec, _, _ in lines]
    assert sorted(specs) == ["pro-affordability"] * 3 + ["pro-america"] * 3
    pids = {spec: {pid for s, _, pid in lines if s == spec} for spec in set(specs)}
    assert all(len(p) == 1 for p in pids.values())  # each corpus in one process
    assert len(set.union(*pids.values()) | {str(os.getpid())}) == 3  # neither is this one
    # the two corpora ran side by side: their documents interleave in time
    first_b = specs.index(specs[-1])
    assert specs[0] != specs[-1] and first_b < len(specs) - specs[::-1].index(specs[0]) - 1
    for arm in graph.arms.values():
        aft = arm.chains[0].aft
        assert (aft.stage.dir / "model" / "aft.txt").is_file()
        assert arm.chains[0].corpus.stage.outputs()["documents"] == 3
        # its time is the worker's (three 1 s documents), not the collecting pass's
        assert arm.chains[0].corpus.stage.record()["seconds"] >= 3.0


def test_max_jobs_one_runs_them_one_after_the_other(plugin, tmp_path, base_model, monkeypatch):
    _, result, lines = run(tmp_path, base_model, monkeypatch, jobs=1)
    assert result.complete
    specs = [spec for spec, _, _ in lines]
    assert specs in (
        ["pro-america"] * 3 + ["pro-affordability"] * 3,
        ["pro-affordability"] * 3 + ["pro-america"] * 3,
    )


def test_a_failing_stage_process_fails_its_stage_with_its_error(plugin, tmp_path, base_model,
                                                               monkeypatch):  # fmt: skip
    _, result, _ = run(tmp_path, base_model, monkeypatch, jobs=2, aft=", options: {fail: true}")
    assert not result.complete
    failed = {sid: str(exc) for sid, exc in result.failed.items()}
    assert len(failed) == 2 and all(sid.startswith("aft-") for sid in failed)
    assert all("simulated crash" in why for why in failed.values())


def test_a_failed_stage_is_not_run_again_on_later_passes(plugin, tmp_path, base_model, monkeypatch):
    """The controller passes over the graph many times while the other arm's stages run; a
    stage that failed on one pass stays failed (a deterministic failure retried on every
    pass would burn the machine until the run ends), and the other arm finishes."""
    exp = tmp_path / "exp.yaml"
    text = EXP.format(base=base_model, jobs=2, aft="")
    text = text.replace(
        "  - {name: america, spec: pro-america}",
        "  - {name: america, spec: pro-america, midtrain: {backend: copy, options: {fail: true}}}\n"
        "  - {name: afford-slow, spec: pro-affordability,"
        " generate: {name: echo, options: {n: 6, sleep: 1.0}}}",
    )
    exp.write_text(text)
    fail_log = tmp_path / "fail.log"
    monkeypatch.setenv("MSMKIT_TEST_FAIL_LOG", str(fail_log))
    monkeypatch.setenv("MSMKIT_TEST_GEN_LOG", str(tmp_path / "gen.log"))
    monkeypatch.setenv("MSMKIT_PLUGINS", "test-plugin=stage_plugin_hooks")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    import msmkit

    result = msmkit.Run(exp, log_dir=tmp_path / "logs", poll_s=0.2).execute()
    assert [sid.split("-")[0] for sid in result.failed] == ["midtrain"]
    assert "simulated crash" in str(next(iter(result.failed.values())))
    attempts = fail_log.read_text().splitlines()
    assert len(attempts) == 1, attempts  # one attempt in this run, not one per pass
    finished = [sid for sid in result.computed if sid.startswith("aft-")]
    assert len(finished) == 2  # both other arms got through AFT
    assert sorted(s for sid, s in result.statuses.items() if sid.startswith("aft-")) == [
        "blocked",
        "done",
        "done",
    ]
