"""The llm pipeline end to end, as a user runs it: ``msmkit generate docs`` in a subprocess,
Inspect's ``anthropic/`` provider (or msmkit's Message Batches client) talking HTTP to the
fake server, which answers every step with parseable scripted output. Killed with SIGKILL
mid-run and rerun; exact counts of requests, documents and dollars; then ``msmkit corpus
filter`` on the result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import FakeLLMServer
from fakes.scripted import STEPS, key_in, pipeline_responder, planted, prompt_key

from msmkit.corpus import read_corpus
from msmkit.llm.base import ResultJournal, Usage
from msmkit.pricing import get_price, load_prices

MODEL = "anthropic/claude-sonnet-4-5"
KEY = "sk-ant-fake-0123456789abcdef"
STEP_NAMES = ("domains", "subdomains", "assertions", "doctypes", "ideas", "documents")
# 2 domains x 2 subdomains x 5 types; --target-tokens / 800 tokens a document -> ideas each
SHAPE = ["-O", "domains=2", "-O", "subdomains_per_domain=2", "-O", "doc_types_per_subdomain=5",
         "-O", "assertions_per_subdomain=3"]  # fmt: skip
PLANNING = 1 + 2 + 4 + 4  # domains, subdomains, assertions, doctypes; + 20 pairs x parts


def start_cli(out: Path, server: FakeLLMServer, *args: str) -> subprocess.Popen:
    env = {**os.environ, "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": KEY,
           "COLUMNS": "200"}  # fmt: skip
    env.pop("MSMKIT_BUDGET_USD", None)
    argv = ["generate", "docs", "pro-america", "-o", str(out), "--model", MODEL, *SHAPE, *args]
    return subprocess.Popen(
        [sys.executable, "-m", "msmkit", *argv],
        env=env,
        cwd=out.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    stdout, stderr = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, stderr[-3000:]
    return stdout, stderr


def kill_when(predicate, proc: subprocess.Popen, timeout: float = 120) -> None:
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
    return {step: ResultJournal(out / "journal" / f"{step}.jsonl") for step in STEP_NAMES}


def journaled_keys(out: Path) -> dict[str, str]:
    """Server key -> request id of every journaled result."""
    found = {}
    for journal in journals(out).values():
        for rid, result in journal.results().items():
            key = key_in(result.text)
            assert key is not None and key not in found
            found[key] = rid
    return found


def server_usage(server: FakeLLMServer, keys) -> Usage:
    total = Usage()
    for key in keys:
        total = total + Usage(**server.usage_by_key[key])
    return total


def check_dollars(out: Path, server: FakeLLMServer, keys, *, batch: bool) -> float:
    """report.json's dollars = the usage the server sent for the journaled keys x price."""
    price = get_price(load_prices(), MODEL)
    usage = server_usage(server, keys)
    journal_usage = sum((j.usage() for j in journals(out).values()), Usage())
    assert journal_usage == usage
    report = json.loads((out / "steps" / "report.json").read_text())
    expected = usage.dollars(price, batch=batch)
    assert report["dollars"] == pytest.approx(expected, abs=1e-5)
    assert report["spent_usd_all_attempts"] == pytest.approx(expected, abs=1e-5)
    return expected


@pytest.mark.slow  # two CLI runs (Inspect startup each) and 1,231 HTTP calls: ~35 s
def test_cli_kill_9_during_documents_then_rerun_exact_counts_and_filter(tmp_path: Path) -> None:
    docs, kill_at, conns = 1200, 300, 16
    planning_calls = PLANNING + 20 * 3  # 60 ideas a pair: 3 requests of 20
    out = tmp_path / "gen"
    args = ("--target-tokens", str(docs * 800), "-O", f"provider={{max_connections: {conns}}}")
    with FakeLLMServer(responder=pipeline_responder, key_fn=prompt_key) as server:
        proc = start_cli(out, server, *args)
        doc_journal = out / "journal" / "documents.jsonl"
        kill_when(lambda: lines(doc_journal) >= kill_at, proc)
        before = journaled_keys(out)
        seen_before = set(server.by_key)
        assert kill_at <= len(ResultJournal(doc_journal)) < docs
        assert len(before) == planning_calls + len(ResultJournal(doc_journal))
        stdout, _ = finish(start_cli(out, server, *args))
    outputs = json.loads(stdout)
    after = journaled_keys(out)
    # every request the pipeline planned was answered and journaled exactly once
    assert len(after) == len(server.by_key) == planning_calls + docs
    assert set(after) == set(server.by_key) and set(before) <= set(after)
    # journaled before the kill: sent exactly once overall
    assert all(server.by_key[key] == 1 for key in before)
    # sent twice: only requests in flight at the kill, at most max_connections of them
    repeated = {key for key, n in server.by_key.items() if n > 1}
    assert repeated <= seen_before - set(before) and len(repeated) <= conns
    assert max(server.by_key.values()) <= 2
    assert sum(server.by_key.values()) == planning_calls + docs + len(repeated)
    assert server.status_counts == {200: planning_calls + docs + len(repeated)}
    # the rerun replayed the journals and sent only the rest
    report = json.loads((out / "steps" / "report.json").read_text())
    d = report["steps"]["documents"]
    before_docs = len(before) - planning_calls
    assert (d["reused"], d["sent"], d["accepted"], d["rejected"]) == (
        before_docs, docs - before_docs, docs, {}
    )  # fmt: skip
    assert all(report["steps"][s]["sent"] == 0 for s in STEP_NAMES[:-1])
    # the corpus: exactly the planned documents, unique ids, one per journaled answer
    corpus = read_corpus(out / "corpus.jsonl")
    assert len(corpus) == len({d.id for d in corpus}) == docs == outputs["documents"]
    doc_keys = [key_in(r.text) for r in ResultJournal(doc_journal).results().values()]
    assert len(set(doc_keys)) == docs
    assert {d.meta["request_id"] for d in corpus} == set(ResultJournal(doc_journal).results())
    dollars = check_dollars(out, server, after, batch=False)
    assert outputs["dollars"] == pytest.approx(dollars, abs=1e-5)
    # the filter: planted duplicates collapse to one, planted short ones go
    dup = sum(planted(k) == "duplicate" for k in doc_keys)
    short = sum(planted(k) == "short" for k in doc_keys)
    assert dup > 5 and short > 5
    from msmkit.cli import make_cli

    result = CliRunner().invoke(
        make_cli(),
        [
            "corpus",
            "filter",
            str(out / "corpus.jsonl"),
            "-o",
            str(tmp_path / "f"),
            "--min-words",
            "45",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    filtered = json.loads(result.stdout)
    assert filtered["documents"] == docs
    assert filtered["removed"]["dedup"] == dup - 1
    assert filtered["removed"]["length"] == short
    assert filtered["kept"] == docs - dup + 1 - short
    assert len(read_corpus(tmp_path / "f" / "corpus.jsonl")) == filtered["kept"]


@pytest.mark.slow  # three CLI runs: ~25 s
def test_cli_batches_wait_then_kill_then_collect_at_batch_price(tmp_path: Path) -> None:
    docs, size = 200, 50
    planning_calls = PLANNING + 20  # 10 ideas a pair: one request each
    out = tmp_path / "gen"
    no_wait = ("--batch", "--target-tokens", str(docs * 800),
               "-O", f"provider={{wait_for_batches: false, batch_size: {size}}}")  # fmt: skip
    wait = ("--batch", "--target-tokens", str(docs * 800),
            "-O", f"provider={{batch_size: {size}, poll_interval_s: 0.05}}")  # fmt: skip
    held = [True]

    def hold(keys: list[str]) -> bool:  # documents stay with the provider until released
        return held[0] and STEPS[keys[0]] == "documents"

    with FakeLLMServer(responder=pipeline_responder, key_fn=prompt_key, batch_hold=hold) as server:
        create = "POST /v1/messages/batches"
        # 1. the planning steps' batches end at once and are collected in the same run; the
        #    documents' four are submitted and left waiting: exit 0, a clear message
        _, stderr = finish(start_cli(out, server, *no_wait))
        assert "waiting:" in stderr and f"{docs} request(s) of step 'documents'" in stderr
        record = json.loads((out / "stage.json").read_text())
        assert record["status"] == "waiting" and len(record["waiting"]["batches"]) == 4
        assert server.hits[create] == 5 + 4
        assert not (out / "corpus.jsonl").exists()
        # 2. a run that waits for them is killed while it polls: nothing is resubmitted
        polls = sum(n for hit, n in server.hits.items() if hit.startswith("GET /v1/messages/b"))
        proc = start_cli(out, server, *wait)
        kill_when(lambda: sum(n for h, n in server.hits.items() if h.startswith("GET /v1/m"))
                  >= polls + 8, proc)  # fmt: skip
        assert server.hits[create] == 9
        # 3. the provider finishes; a rerun collects
        held[0] = False
        stdout, _ = finish(start_cli(out, server, *no_wait))
    assert server.hits[create] == 9  # 0 new batch creations after the first run
    assert server.hits["POST /v1/messages"] == 0
    assert set(server.batch_by_key.values()) == {1}
    assert len(server.batch_by_key) == planning_calls + docs
    corpus = read_corpus(out / "corpus.jsonl")
    assert len(corpus) == len({d.id for d in corpus}) == docs == json.loads(stdout)["documents"]
    assert all(d.meta["batched"] for d in corpus)
    assert json.loads((out / "stage.json").read_text())["status"] == "done"
    keys = journaled_keys(out)
    assert set(keys) == set(server.batch_by_key)
    check_dollars(out, server, keys, batch=True)


def test_documents_with_max_tokens_8192_stream_through_the_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Document calls usually ask for >= 8192 tokens, which Inspect sends as SSE streams."""
    from msmkit.cli import make_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MSMKIT_BUDGET_USD", raising=False)
    monkeypatch.setattr("msmkit.llm.base.os.fsync", lambda fd: None)
    out = tmp_path / "gen"
    with FakeLLMServer(responder=pipeline_responder, key_fn=prompt_key) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": KEY}
        argv = ["generate", "docs", "pro-america", "-o", str(out), "--model", MODEL, *SHAPE,
                "-O", "ideas_per_type=2", "-O", "document_max_tokens=8192"]  # fmt: skip
        result = CliRunner().invoke(make_cli(), argv, env=env)
    assert result.exit_code == 0, result.output
    doc_keys = {k for k, step in STEPS.items() if step == "documents" and k in server.by_key}
    assert len(doc_keys) == 40
    assert {k: server.streamed[k] for k in doc_keys} == dict.fromkeys(doc_keys, 1)
    assert sum(server.streamed.values()) == 40  # planning calls (4096 tokens) are not streamed
    corpus = read_corpus(out / "corpus.jsonl")
    assert len(corpus) == 40 and {key_in(d.text) for d in corpus} == {None}
    # 50 words (40 planted short), plus "[key]", "<document>" and "</document>"
    assert {d.meta["usage"]["output_tokens"] for d in corpus} == {53, 43}
    check_dollars(out, server, journaled_keys(out), batch=False)
