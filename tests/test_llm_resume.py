"""kill -9 mid-run, then rerun: no journaled request is ever sent again. Plus key redaction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import FakeLLMServer

from msmkit.llm import LLMRequest, ResultJournal, make_executor, redact
from msmkit.llm.batches import STATE_FILE

ANTHROPIC = "anthropic/claude-sonnet-4-5"
FAKES = Path(__file__).parent
KEY = "sk-ant-fake-0123456789abcdef"


@pytest.fixture(autouse=True)
def fake_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


def reqs(n: int) -> list[LLMRequest]:
    return [
        LLMRequest(id=f"r{i}", model=ANTHROPIC, prompt=f"req r{i}", system="spec") for i in range(n)
    ]


def start(job: dict, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(FAKES)}
    return subprocess.Popen(
        [sys.executable, "-m", "fakes.run_executor", json.dumps(job)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, "executor exited before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow  # two Inspect imports (subprocess + here): ~25 s on 2 shared cores
def test_kill_9_mid_run_then_rerun_sends_no_journaled_id_again(tmp_path: Path) -> None:
    n, k, conns = 60, 10, 4
    journal_path = tmp_path / "j.jsonl"
    with FakeLLMServer(latency_s=0.05) as server:
        settings = {"model": ANTHROPIC, "base_url": server.url, "max_connections": conns}
        job = {
            "settings": settings,
            "n": n,
            "journal": str(journal_path),
            "state_dir": str(tmp_path),
        }
        proc = start(job, tmp_path)
        wait_for(lambda: lines(journal_path) >= k, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = set(ResultJournal(journal_path).results())
        sent_before = dict(server.by_key)
        assert k <= len(before) < n
        summary = make_executor(settings).run(
            reqs(n), ResultJournal(journal_path), state_dir=tmp_path
        )
    journal = ResultJournal(journal_path)
    assert len(journal) == n == lines(journal_path)  # one line per id, nothing torn
    assert summary.reused == len(before) and summary.sent == n - len(before)
    # journaled before the kill: never sent again
    assert all(server.by_key[f"req {rid}"] == 1 for rid in before)
    # sent twice: only the requests in flight at the kill (at most max_connections)
    repeated = {key for key, count in server.by_key.items() if count > 1}
    assert repeated <= {key for key in sent_before if key[4:] not in before}
    assert len(repeated) <= conns
    assert sum(server.by_key.values()) == n + len(repeated)


def test_kill_between_batch_submit_and_collect_then_resume(tmp_path: Path) -> None:
    n = 9
    journal_path = tmp_path / "j.jsonl"
    with FakeLLMServer(batch_polls_to_end=10**9) as server:
        settings = {"model": ANTHROPIC, "base_url": server.url, "batch": True,
                    "batch_size": 4, "poll_interval_s": 0.05}  # fmt: skip
        job = {
            "settings": settings,
            "n": n,
            "journal": str(journal_path),
            "state_dir": str(tmp_path),
        }
        proc = start(job, tmp_path)
        state = tmp_path / STATE_FILE
        wait_for(lambda: server.hits["GET /v1/messages/batches/msgbatch_000001"] >= 1, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        saved = json.loads(state.read_text())
        assert [len(b["request_ids"]) for b in saved["batches"]] == [4, 4, 1]
        created = server.hits["POST /v1/messages/batches"]
        server.batch_polls_to_end = 0
        summary = make_executor(settings).run(
            reqs(n), ResultJournal(journal_path), state_dir=tmp_path
        )
    assert created == 3 and server.hits["POST /v1/messages/batches"] == 3  # 0 resubmitted
    assert server.batch_by_key == {f"req r{i}": 1 for i in range(n)}
    assert (summary.sent, summary.pending) == (n, 0) and len(ResultJournal(journal_path)) == n
    assert {b["status"] for b in json.loads(state.read_text())["batches"]} == {"collected"}


@pytest.mark.parametrize("model", [ANTHROPIC, "openai/gpt-4.1"])
def test_provider_error_echoing_the_key_is_redacted(
    model: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A rejected key (HTTP 401) stops the run at once with the provider's message, the key
    in it redacted: every other request would be refused the same way."""
    from msmkit.llm.waiting import ProviderRejectedError

    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-fakeopenai0123456789")
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r0": ["401_echo"]}) as server:
        base = server.url if model == ANTHROPIC else server.url + "/v1"
        settings = {"model": model, "base_url": base, "backoff_initial_s": 0.01,
                    "max_connections": 1}  # fmt: skip
        requests = [LLMRequest(id=f"r{i}", model=model, prompt=f"req r{i}") for i in range(5)]
        with pytest.raises(ProviderRejectedError) as err:
            make_executor(settings).run(requests, journal, state_dir=tmp_path)
    error = err.value.message
    assert "refused the request" in error and "HTTP 401" in error
    assert "invalid x-api-key" in error and "[REDACTED]" in error
    assert KEY not in error and "sk-proj-fakeopenai0123456789" not in error
    assert (len(journal), server.by_key["req r0"], sum(server.by_key.values())) == (0, 1, 1)


def test_redact_patterns() -> None:
    assert KEY not in redact(f"Authorization: Bearer {KEY}")
    assert "unknownkey" not in redact("key=sk-ant-api03-unknownkeynotinenv-xyz")
    assert "abcdefgh12345" not in redact('{"api_key": "abcdefgh12345"}')
    assert redact("no secrets here") == "no secrets here"
