"""``msmkit generate aft`` end to end, as a user runs it: a subprocess, Inspect's providers (or
msmkit's batch clients) talking HTTP to the fake Anthropic and OpenAI servers, which answer
every step with scripted output (tests/aft_script.py: the grader fails 1 response in 5 and is
unsure of 1 in 13). Killed with SIGKILL mid-responses, and between batch submit and collect,
then rerun; exact counts of requests, chats and verdicts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aft_script
import pytest
from fakes import FakeLLMServer

from msmkit.llm.base import ResultJournal, Usage
from msmkit.pricing import get_price, load_prices

ANTHROPIC = "anthropic/claude-sonnet-4-5"
OPENAI = "openai/gpt-4.1"
STEPS = ("domains", "prompts", "responses", "grades")
TARGET = 300


def start(out: Path, server: FakeLLMServer, model: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200", "ANTHROPIC_API_KEY": "sk-ant-fake-0123456789abcdef",
           "OPENAI_API_KEY": "sk-fake-openai-0123456789abcdef",
           "ANTHROPIC_BASE_URL": server.url, "OPENAI_BASE_URL": server.url + "/v1"}  # fmt: skip
    env.pop("MSMKIT_BUDGET_USD", None)
    argv = ["generate", "aft", "philosophy", "-o", str(out), "--model", model,
            "--target", str(TARGET), "--reasoning", *args]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "msmkit", *argv],
        env=env,
        cwd=out.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    stdout, stderr = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, stderr[-3000:]
    return stdout, stderr


def kill_when(predicate, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def journals(out: Path) -> dict[str, ResultJournal]:
    return {s: ResultJournal(out / "journal" / f"{s}.jsonl") for s in STEPS}


def check_set(out: Path, outputs: dict) -> dict:
    """The delivered sets and the report agree with the grader's scripted verdicts."""
    data = [json.loads(x) for x in (out / "data.jsonl").read_text().splitlines()]
    plain = [json.loads(x) for x in (out / "data_no_reasoning.jsonl").read_text().splitlines()]
    assert len(data) == len(plain) == outputs["items"] == TARGET
    assert len({d["id"] for d in data}) == TARGET
    for d, p in zip(data, plain, strict=True):  # item for item, without the reasoning
        assert d["messages"][1].pop("reasoning") and d == p
    report = json.loads((out / "steps" / "report.json").read_text())
    verdicts = {"PASS": 0, "FAIL": 0, "UNCLEAR": 0}
    for result in journals(out)["grades"].results().values():
        verdicts[result.text.split("<verdict>")[1].split("</verdict>")[0]] += 1
    g = report["steps"]["grades"]
    assert (g["pass"], g["fail"], g["unclear"]) == (
        verdicts["PASS"], verdicts["FAIL"], verdicts["UNCLEAR"])  # fmt: skip
    assert g["fail"] > 0 and g["unclear"] > 0  # grader rejections, counted
    assert report["accepted"] == verdicts["PASS"] >= TARGET
    assert {d["verdict"] for d in plain} == {"PASS"}
    return report


def planned(out: Path) -> int:
    """Requests the run made: one per journaled result."""
    return sum(len(j) for j in journals(out).values())


@pytest.mark.slow  # two CLI runs, ~900 HTTP calls through Inspect's anthropic provider
def test_anthropic_online_kill_9_in_responses_then_rerun(tmp_path: Path) -> None:
    conns = 16
    out = tmp_path / "aft"
    args = ("-O", f"provider={{max_connections: {conns}}}")
    with FakeLLMServer(responder=aft_script.responder) as server:
        proc = start(out, server, ANTHROPIC, *args)
        kill_when(lambda: lines(out / "journal" / "responses.jsonl") >= 100, proc)
        before = {rid for j in journals(out).values() for rid in j.results()}
        seen_before = set(server.by_key)
        assert 100 <= len(journals(out)["responses"]) < 420
        stdout, _ = finish(start(out, server, ANTHROPIC, *args))
        calls = planned(out)
        # every request answered and journaled exactly once, but those in flight at the kill
        repeated = {k for k, n in server.by_key.items() if n > 1}
        assert repeated <= seen_before and len(repeated) <= conns
        assert max(server.by_key.values()) <= 2
        assert len(server.by_key) == calls
        assert sum(server.by_key.values()) == calls + len(repeated)
        assert server.status_counts == {200: calls + len(repeated)}
    outputs = json.loads(stdout)
    report = check_set(out, outputs)
    after = {rid for j in journals(out).values() for rid in j.results()}
    assert before <= after
    r = report["steps"]["responses"]
    assert r["reused"] == len(before & set(journals(out)["responses"].results()))
    assert r["sent"] + r["reused"] == len(journals(out)["responses"])
    for step in ("domains", "prompts"):  # read back from the step files, nothing sent
        assert report["steps"][step]["sent"] == 0 < report["steps"][step]["from_file"]
    # dollars: the report's equal the usage the server billed, at list price
    price = get_price(load_prices(), ANTHROPIC)
    usage = sum((j.usage() for j in journals(out).values()), Usage())
    assert report["dollars"] == pytest.approx(usage.dollars(price), abs=1e-5)


@pytest.mark.slow
def test_openai_online_exact_counts(tmp_path: Path) -> None:
    out = tmp_path / "aft"
    with FakeLLMServer(responder=aft_script.responder) as server:
        stdout, _ = finish(start(out, server, OPENAI))
        calls = planned(out)
        assert set(server.by_key.values()) == {1} and len(server.by_key) == calls
        assert server.hits["POST /v1/chat/completions"] == calls
    report = check_set(out, json.loads(stdout))
    sent = {s: report["steps"][s]["sent"] for s in STEPS}
    assert calls == sum(sent.values())
    kept = sum(x["prompts_kept"] for x in report["rounds"])
    assert sent["responses"] == sent["grades"] == kept
    assert (sent["domains"], report["rounds"][0]["prompts_kept"]) == (1, 35 * 12)


def _batch_test(tmp_path: Path, model: str, create: str) -> None:
    out = tmp_path / "aft"
    wait = ("--batch", "-O", "provider={batch_size: 100, poll_interval_s: 0.05}")
    held = [True]

    def hold(keys: list[str]) -> bool:  # the responses stay with the provider until released
        return held[0] and aft_script.step_of(keys[0]) == "responses"

    with FakeLLMServer(responder=aft_script.responder, batch_hold=hold) as server:
        proc = start(out, server, model, *wait)
        state = out / "journal" / "responses.state" / "batches.json"

        def submitted() -> bool:
            return state.exists() and len(json.loads(state.read_text())["batches"]) >= 5

        kill_when(submitted, proc)  # killed between submit and collect, while polling
        creations = server.hits[create]
        record = json.loads((out / "stage.json").read_text())
        assert record["status"] == "waiting" and record["waiting"]["batches"]
        held[0] = False
        stdout, _ = finish(start(out, server, model, *wait))
        assert server.hits[create] >= creations  # later steps' batches, none resubmitted
        assert set(server.batch_by_key.values()) == {1}  # no entry ever sent twice
        assert len(server.batch_by_key) == planned(out)
        assert sum(server.by_key.values()) == 0  # nothing went online
    report = check_set(out, json.loads(stdout))
    results = [r for j in journals(out).values() for r in j.results().values()]
    assert all(r.batched for r in results)
    price = get_price(load_prices(), model)
    usage = sum((j.usage() for j in journals(out).values()), Usage())
    assert report["dollars"] == pytest.approx(usage.dollars(price, batch=True), abs=1e-5)


@pytest.mark.slow
def test_anthropic_batches_killed_between_submit_and_collect(tmp_path: Path) -> None:
    _batch_test(tmp_path, ANTHROPIC, "POST /v1/messages/batches")


@pytest.mark.slow
def test_openai_batches_killed_between_submit_and_collect(tmp_path: Path) -> None:
    _batch_test(tmp_path, OPENAI, "POST /v1/batches")
