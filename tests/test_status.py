"""``msmkit status RUN`` and ``status.html``: every stage's state from the run's files, what a
waiting stage waits for and blocks, why a stage failed with its log's last lines, progress
and time left of a running training, and estimates from the stages already done."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

STAMP = "%Y-%m-%dT%H:%M:%S%z"


def _stage(store: Path, sid: str, **record) -> Path:
    folder = store / sid
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stage.json").write_text(json.dumps({"kind": sid.split("-")[0], **record}))
    return folder


@pytest.fixture
def run(tmp_path) -> Path:
    """A run in flight: arm a (docs done, midtrain running at step 30 of 120, its evals to
    do), arm b (docs waiting on a batch, blocking its midtrain and eval), arm c (midtrain
    failed with a log), arm d (a midtrain whose process is gone)."""
    store = tmp_path / "store"
    me = {"pid": os.getpid(), "host": socket.gethostname(), "run": "exp"}
    started = time.strftime(STAMP, time.localtime(time.time() - 60))
    _stage(store, "llm_docs-a", status="done", seconds=100.0, outputs={"dollars": 1.25})
    _stage(store, "llm_docs-c", status="done", seconds=300.0, outputs={"dollars": 0.75})
    mid = _stage(store, "midtrain-a", status="running", started=started, owner=me)
    (mid / "train_job.progress.jsonl").write_text(
        "".join(json.dumps({"step": s, "total": 120, "t": 0}) + "\n" for s in (0, 10, 30))
    )
    batches = {
        "version": 1,
        "batches": [
            {"id": "msgbatch_01ABC", "request_ids": ["r1", "r2", "r3"], "status": "submitted"},
            {"id": "msgbatch_00OLD", "request_ids": ["r0"], "status": "ended"},
        ],
    }
    _stage(
        store,
        "llm_docs-b",
        status="waiting",
        waiting=batches,
        started=started,
        options={"budget_usd": 5.0},
    )
    failed = _stage(store, "midtrain-c", status="failed", error="RunError: CUDA out of memory")
    (failed / "train_job.log").write_text("".join(f"line {i}\n" for i in range(40)))
    gone = {"pid": 2**22 + 12345, "host": socket.gethostname(), "run": "exp"}
    _stage(store, "midtrain-d", status="running", started=started, owner=gone)

    def chain(docs, midtrain, evals):
        return {
            "seed": 0,
            "steps": [docs, midtrain],
            "evals": [{"stage": e, "name": "qa", "task": "qa", "phase": "final"} for e in evals],
        }

    stages = {}
    for sid, kind, label, arms, status in [
        ("llm_docs-a", "llm_docs", "documents", ["a"], "done"),
        ("midtrain-a", "midtrain", "midtrain (trl, seed 0)", ["a"], "todo"),
        ("eval-a", "eval", "eval qa", ["a"], "todo"),
        ("llm_docs-b", "llm_docs", "documents", ["b"], "waiting"),
        ("midtrain-b", "midtrain", "midtrain (trl, seed 0)", ["b"], "blocked"),
        ("eval-b", "eval", "eval qa", ["b"], "blocked"),
        ("llm_docs-c", "llm_docs", "documents", ["c"], "done"),
        ("midtrain-c", "midtrain", "midtrain (trl, seed 0)", ["c"], "failed"),
        ("eval-c", "eval", "eval qa", ["c"], "blocked"),
        ("midtrain-d", "midtrain", "midtrain (trl, seed 0)", ["d"], "todo"),
    ]:
        stages[sid] = {
            "kind": kind,
            "label": label,
            "arms": arms,
            "status": status,
            "dollars": None,
            "seconds": None,
        }
    manifest = {
        "experiment": {"name": "exp"},
        "store": str(store),
        "budget_usd": 5.0,
        "updated": "2026-01-01T00:00:00+0000",
        "arms": {
            arm: {"seeds": [chain(f"llm_docs-{arm}", f"midtrain-{arm}", [f"eval-{arm}"])]}
            for arm in "abc"
        },
        "stages": stages,
    }
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "status.json").write_text(
        json.dumps({"estimates": {"llm_docs-b": {"dollars": 2.5}, "llm_docs-a": {"dollars": 1.0}}})
    )
    return folder


def _row(status, sid):
    return next(r for r in status["stages"] if r["stage"] == sid)


def test_states_progress_waits_failures_and_estimates(run):
    from msmkit.report.status import collect

    status = collect(run)
    assert status["counts"] == {
        "done": 2,
        "running": 1,
        "todo": 1,
        "waiting": 1,
        "blocked": 3,
        "failed": 1,
        "interrupted": 1,
    }
    running = _row(status, "midtrain-a")
    assert running["progress"] == {"step": 30, "total": 120, "t": 0}
    assert 55 <= running["elapsed"] < 600
    assert running["eta"] == pytest.approx(running["elapsed"] * 3, rel=1e-3)  # 90 steps left
    waiting = _row(status, "llm_docs-b")
    assert waiting["waiting"] == ["batch msgbatch_01ABC (3 requests)"]  # the ended one is not
    assert waiting["blocks"] == ["midtrain-b", "eval-b"]
    assert waiting["budget_usd"] == 5.0 and waiting["est_dollars"] == 2.5
    assert waiting["estimate"] == 200.0 and waiting["estimate_from"] == 2  # mean of done docs
    failed = _row(status, "midtrain-c")
    assert failed["error"] == "RunError: CUDA out of memory"
    assert failed["log"].endswith("train_job.log")
    assert failed["log_tail"] == [f"line {i}" for i in range(20, 40)]
    assert failed["blocks"] == ["eval-c"]
    assert _row(status, "midtrain-d")["state"] == "interrupted"
    assert status["spent_usd"] == 2.0 and status["budget_usd"] == 5.0
    assert status["est_usd"] == 3.5
    assert status["active"] is True


def test_status_command_text_json_and_page(run):
    from msmkit.cli import make_cli

    result = CliRunner().invoke(make_cli(), ["status", str(run)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = result.output
    assert "msgbatch_01ABC" in text and "blocks 2 stage(s): midtrain-b, eval-b" in text
    assert "error: RunError: CUDA out of memory" in text and "line 39" in text
    assert "step 30/120" in text and "spent $2.00 (cap $5.00 per paid stage)" in text
    result = CliRunner().invoke(make_cli(), ["status", str(run), "--json", "--html"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert _row(data, "llm_docs-b")["waiting"] == ["batch msgbatch_01ABC (3 requests)"]
    page = (run / "status.html").read_text()
    assert '<meta http-equiv="refresh"' in page  # a stage is running: the page reloads
    assert "msgbatch_01ABC" in page and "line 39" in page and "data-since=" in page


def test_a_finished_run_page_does_not_reload(run):
    from msmkit.report.status_page import write_status_page

    manifest = json.loads((run / "manifest.json").read_text())
    store = Path(manifest["store"])
    for sid in ("midtrain-a", "midtrain-d"):
        rec = json.loads((store / sid / "stage.json").read_text())
        rec.update(status="done", seconds=50.0)
        (store / sid / "stage.json").write_text(json.dumps(rec))
    page = write_status_page(run).read_text()
    assert "http-equiv" not in page and "<script" not in page


def test_not_a_run_folder_is_one_clear_error(tmp_path):
    from msmkit.cli import make_cli

    result = CliRunner().invoke(make_cli(), ["status", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not an msmkit run folder" in str(result.exception)


def test_status_page_runs_its_clock_in_chromium_without_errors(run):
    from headless import need_chromium, open_page

    from msmkit.report.status_page import write_status_page

    need_chromium()
    page = open_page(write_status_page(run))
    try:
        first = page.evaluate("document.querySelector('[data-since]').textContent")
        assert first.endswith(" so far")
        assert page.requests() == [(run / "status.html").resolve().as_uri()]
        assert page.console_errors() == []
    finally:
        page.close()


@pytest.mark.slow
def test_a_failed_eval_shows_the_error_its_inspect_log_recorded(tmp_path):
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.solver import solver

    from msmkit.report.status import collect

    @solver
    def explode():
        async def solve(state, generate):
            raise RuntimeError("the grader role is not bound")

        return solve

    store = tmp_path / "store"
    stage = _stage(store, "eval-x", status="failed", error="PluginError: evaluation did not finish")
    task = Task(dataset=[Sample(input="q", id="q1")], solver=explode(), name="qa")
    [log] = inspect_eval(task, model="mockllm/model", log_dir=str(stage / "logs"), display="none")
    assert log.status == "error"
    folder = tmp_path / "exp"
    folder.mkdir()
    stages = {"eval-x": {"kind": "eval", "label": "eval qa", "arms": ["a"], "status": "failed"}}
    manifest = {"experiment": {"name": "exp"}, "store": str(store), "stages": stages}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    row = _row(collect(folder), "eval-x")
    assert row["state"] == "failed" and row["error"].startswith("PluginError")
    assert row["log"] == str(stage / "logs")
    assert any("the grader role is not bound" in line for line in row["log_tail"])


def test_a_stage_waiting_on_a_slurm_job_shows_what_slurm_says_now(run, tmp_path, monkeypatch):
    from msmkit.report.status import collect

    record = tmp_path / "store" / "llm_docs-b" / "stage.json"
    data = json.loads(record.read_text())
    data["waiting"] = {
        "executor": "slurm",
        "name": "msmkit-x",
        "job_id": "4242",
        "state": "PENDING",
    }
    record.write_text(json.dumps(data))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def fake(squeue: str, sacct: str) -> None:
        for tool, out in (("squeue", squeue), ("sacct", sacct)):
            (bin_dir / tool).write_text(f"#!/bin/sh\nprintf '{out}'\n")
            (bin_dir / tool).chmod(0o755)

    def waiting() -> list[str]:
        return _row(collect(run), "llm_docs-b")["waiting"]

    monkeypatch.setenv("PATH", str(bin_dir))  # no Slurm on PATH: the saved state, said so
    assert waiting() == ["Slurm job 4242: PENDING (as last seen by the controller)"]
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    fake(squeue="RUNNING\\n", sacct="")
    assert waiting() == ["Slurm job 4242: RUNNING"]
    fake(squeue="", sacct="CANCELLED by 0\\n")  # out of the queue: accounting has it
    assert waiting() == ["Slurm job 4242: CANCELLED (ended: rerun the same command to collect it)"]
    fake(squeue="", sacct="")
    assert waiting() == [
        "Slurm job 4242: PENDING (as last seen by the controller; Slurm no longer knows it)"
    ]
