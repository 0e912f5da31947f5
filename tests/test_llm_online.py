"""The online executor against the fake provider server: exact request counts, journal
contents, usage and dollars."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeLLMServer

from msmkit.llm import Budget, LLMRequest, ResultJournal
from msmkit.llm.keys import MissingKeyError
from msmkit.llm.online import OnlineExecutor
from msmkit.llm.settings import ProviderSettings
from msmkit.pricing import get_price, load_prices

ANTHROPIC = "anthropic/claude-sonnet-4-5"
OPENAI = "openai/gpt-4.1"
SYSTEM = "The spec says cheese should be affordable for everyone in the world"  # 12 words


@pytest.fixture(autouse=True)
def fake_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-0123456789abcdef")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-openai-0123456789abcdef")


def reqs(n: int, model: str = ANTHROPIC, **kw: object) -> list[LLMRequest]:
    return [
        LLMRequest(id=f"r{i}", model=model, prompt=f"req r{i}", system=SYSTEM, **kw)
        for i in range(n)
    ]


def executor(server: FakeLLMServer, model: str = ANTHROPIC, **kw: object) -> OnlineExecutor:
    base = server.url if model.startswith("anthropic") else server.url + "/v1"
    settings = ProviderSettings(
        model=model, base_url=base, backoff_initial_s=0.01, backoff_max_s=0.2, **kw
    )
    return OnlineExecutor(settings)


@pytest.mark.parametrize("model", [ANTHROPIC, OPENAI])
def test_all_answered_once_with_cached_system(model: str, tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer() as server:
        summary = executor(server, model, max_connections=4).run(
            reqs(10, model), journal, state_dir=tmp_path
        )
    assert summary.sent == 10 and summary.failed == 0 and summary.pending == 0
    assert server.by_key == {f"req r{i}": 1 for i in range(10)}
    results = ResultJournal(tmp_path / "j.jsonl").results()
    assert sorted(results) == sorted(f"r{i}" for i in range(10))
    first = results["r0"]
    assert first.text == "answer to req r0" and first.stop_reason == "stop"
    assert first.attempts == 1
    # "req rN" = 2 uncached input words; the 12-word system is written to the cache once
    # (anthropic, cache_control) and read by the other nine calls; OpenAI bills the first
    # sight of it as plain input (no write price)
    usage = journal.usage()
    assert usage.input_tokens == 10 * 2 + (12 if model == OPENAI else 0)
    assert usage.output_tokens == 10 * 4
    assert usage.cache_read_tokens == 9 * 12
    assert usage.cache_write_tokens == (12 if model == ANTHROPIC else 0)
    price = get_price(load_prices(), model)
    expected = (
        usage.input_tokens * price.input
        + 40 * price.output
        + 108 * price.input_cache_read
        + usage.cache_write_tokens * price.input_cache_write
    ) / 1e6
    assert usage.dollars(price) == pytest.approx(expected)
    assert summary.usage == usage


def test_reuses_journaled_ids(tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer() as server:
        executor(server).run(reqs(3), journal, state_dir=tmp_path)
        summary = executor(server).run(reqs(5), journal, state_dir=tmp_path)
    assert (summary.reused, summary.sent) == (3, 2)
    assert sum(server.by_key.values()) == 5 and set(server.by_key.values()) == {1}


@pytest.mark.parametrize("model", [ANTHROPIC, OPENAI])
def test_429s_then_success(model: str, tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r1": ["429", "429", "429"]}) as server:
        summary = executor(server, model).run(reqs(3, model), journal, state_dir=tmp_path)
    assert summary.sent == 3 and summary.failed == 0
    assert server.by_key["req r1"] == 4 and server.by_key["req r0"] == 1
    assert server.status_counts[429] == 3
    assert journal.get("r1").attempts == 4 and journal.get("r1").ok


@pytest.mark.parametrize("status", ["500", "529"])
def test_server_errors_are_retried(status: str, tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r0": [status, status]}) as server:
        summary = executor(server).run(reqs(2), journal, state_dir=tmp_path)
    assert summary.sent == 2 and server.by_key["req r0"] == 3
    assert journal.get("r0").attempts == 3


def test_failure_after_retries_is_reported_not_journaled(tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r0": ["500"] * 3}) as server:
        summary = executor(server, max_retries=2).run(reqs(2), journal, state_dir=tmp_path)
        assert server.by_key["req r0"] == 3  # 1 + max_retries
        assert (summary.sent, summary.failed) == (1, 1)
        assert "r0" not in journal and "HTTP 500" in summary.errors["r0"]
        again = executor(server).run(reqs(2), journal, state_dir=tmp_path)  # a rerun retries it
    assert (again.reused, again.sent) == (1, 1) and server.by_key["req r0"] == 4


def test_hung_request_is_freed_by_timeout(tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r0": ["hang"]}) as server:
        summary = executor(server, timeout_s=1, max_connections=1).run(
            reqs(3), journal, state_dir=tmp_path
        )
    assert summary.sent == 3 and server.by_key["req r0"] == 2
    assert journal.get("r0").attempts == 2


@pytest.mark.parametrize("model", [ANTHROPIC, OPENAI])
def test_truncated_output_is_reported_as_max_tokens(model: str, tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    long = lambda key, body: " ".join(["word"] * 50)  # noqa: E731
    with FakeLLMServer(responder=long, faults={"req r1": ["truncate"]}) as server:
        executor(server, model).run(reqs(2, model, max_tokens=20), journal, state_dir=tmp_path)
    for rid in ("r0", "r1"):  # r0: 50 words > max_tokens 20; r1: server-side truncation
        result = journal.get(rid)
        assert result.stop_reason == "max_tokens" and not result.ok
    assert journal.get("r0").usage.output_tokens == 20


def test_budget_stops_new_requests(tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    price = get_price(load_prices(), ANTHROPIC)
    one = journal_cost = None
    with FakeLLMServer() as server:
        # each call: 2 in + 4 out (+ 12 system, written once then read)
        budget = Budget(limit_usd=3.5 * (2 * price.input + 4 * price.output) / 1e6, price=price)
        summary = executor(server, max_connections=1).run(
            reqs(10), journal, state_dir=tmp_path, budget=budget
        )
        one = journal.get("r0").usage.dollars(price)
        journal_cost = journal.usage().dollars(price)
    assert summary.stopped_by_budget and summary.sent + summary.pending == 10
    assert summary.sent == len(journal) == sum(server.by_key.values())
    assert journal_cost == pytest.approx(budget.spent_usd)
    assert journal_cost - one < budget.limit_usd <= journal_cost  # stops right after the cap
    assert summary.sent == 3


def test_missing_key_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with FakeLLMServer() as server, pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY"):
        executor(server).run(reqs(2), ResultJournal(tmp_path / "j.jsonl"), state_dir=tmp_path)
    assert sum(server.hits.values()) == 0
