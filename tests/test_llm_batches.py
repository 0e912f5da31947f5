"""The batch executor against the fake server: state written before polling, resume without
resubmitting, errored entries resubmitted (bounded), half-price usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeLLMServer

from msmkit.llm import Budget, LLMRequest, ResultJournal, make_executor
from msmkit.llm.batches import STATE_FILE
from msmkit.pricing import get_price, load_prices

ANTHROPIC = "anthropic/claude-sonnet-4-5"
OPENAI = "openai/gpt-4.1"
SYSTEM = "The spec says cheese should be affordable for everyone in the world"  # 12 words
CREATE = {ANTHROPIC: "POST /v1/messages/batches", OPENAI: "POST /v1/batches"}


@pytest.fixture(autouse=True)
def fake_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-0123456789abcdef")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-openai-0123456789abcdef")


def reqs(n: int, model: str) -> list[LLMRequest]:
    return [
        LLMRequest(id=f"r{i}", model=model, prompt=f"req r{i}", system=SYSTEM) for i in range(n)
    ]


def settings(server: FakeLLMServer, model: str, **kw: object) -> dict[str, object]:
    base = server.url if model == ANTHROPIC else server.url + "/v1"
    return {"model": model, "batch": True, "base_url": base, "poll_interval_s": 0.01, **kw}


@pytest.mark.parametrize("model", [ANTHROPIC, OPENAI])
def test_chunks_state_before_polling_and_half_price(model: str, tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    seen_state: list[dict] = []
    with FakeLLMServer(batch_polls_to_end=2) as server:

        def on_waiting(state: dict) -> None:  # called before the first poll
            assert json.loads((tmp_path / STATE_FILE).read_text()) == state
            prefix = "/v1/messages/batches/" if model == ANTHROPIC else "/v1/batches/"
            assert server.hits[f"GET {prefix}{state['batches'][0]['id']}"] == 0
            seen_state.append(state)

        executor = make_executor(settings(server, model, batch_size=4))
        summary = executor.run(reqs(10, model), journal, state_dir=tmp_path, on_waiting=on_waiting)
    assert server.hits[CREATE[model]] == 3  # 4 + 4 + 2
    assert [len(b["request_ids"]) for b in seen_state[0]["batches"]] == [4, 4, 2]
    assert server.batch_by_key == {f"req r{i}": 1 for i in range(10)}
    assert sum(server.by_key.values()) == 0  # nothing went online
    assert (summary.sent, summary.pending, summary.failed) == (10, 0, 0)
    assert len(journal) == 10 and all(r.batched and r.ok for r in journal.results().values())
    usage = journal.usage()
    assert usage.input_tokens == 20 + (12 if model == OPENAI else 0)
    assert usage.cache_read_tokens == 9 * 12
    price = get_price(load_prices(), model)
    budget = Budget(None, price)
    for result in journal.results().values():
        budget.charge(result)
    assert budget.spent_usd == pytest.approx(usage.dollars(price) / 2)


@pytest.mark.parametrize("model", [ANTHROPIC, OPENAI])
def test_no_wait_then_resume_collects_without_resubmitting(model: str, tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(batch_polls_to_end=10**9) as server:
        first = make_executor(settings(server, model, batch_size=3, wait_for_batches=False))
        summary = first.run(reqs(7, model), journal, state_dir=tmp_path)
        assert (summary.sent, summary.pending) == (0, 7)
        server.batch_polls_to_end = 0
        again = make_executor(settings(server, model, batch_size=3, wait_for_batches=False))
        summary = again.run(reqs(7, model), journal, state_dir=tmp_path)
    assert server.hits[CREATE[model]] == 3  # 0 resubmitted batches
    assert set(server.batch_by_key.values()) == {1}
    assert (summary.sent, summary.pending, len(journal)) == (7, 0, 7)


@pytest.mark.parametrize("model", [ANTHROPIC, OPENAI])
def test_errored_and_expired_entries_are_resubmitted_bounded(model: str, tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    faults = {"req r1": ["errored"], "req r2": ["expired", "errored", "errored"]}
    with FakeLLMServer(batch_faults=faults) as server:
        executor = make_executor(settings(server, model, max_batch_resubmits=1))
        summary = executor.run(reqs(4, model), journal, state_dir=tmp_path)
    # round 1: r0..r3; round 2: r1 (ok) and r2 (errored again: out of resubmits)
    assert server.hits[CREATE[model]] == 2
    assert server.batch_by_key == {"req r0": 1, "req r1": 2, "req r2": 2, "req r3": 1}
    assert (summary.sent, summary.failed, summary.pending) == (3, 1, 0)
    assert "r2" not in journal and "r2" in summary.errors
    assert executor.state["resubmits"] == {"r1": 1, "r2": 1}


def test_truncated_batch_entry_is_max_tokens(tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(batch_faults={"req r0": ["truncate"]}) as server:
        make_executor(settings(server, ANTHROPIC)).run(
            reqs(1, ANTHROPIC), journal, state_dir=tmp_path
        )
    assert journal.get("r0").stop_reason == "max_tokens"


def test_budget_stops_submitting_chunks(tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j.jsonl")
    price = get_price(load_prices(), ANTHROPIC)
    with FakeLLMServer() as server:
        budget = Budget(limit_usd=1e-9, price=price)
        executor = make_executor(settings(server, ANTHROPIC, batch_size=2))
        # worst case of one request (4096 tokens out) is over the cap: one request goes out
        # (nothing outstanding), and once it is collected the cap is spent
        first = executor.run(reqs(6, ANTHROPIC), journal, state_dir=tmp_path, budget=budget)
        assert server.hits[CREATE[ANTHROPIC]] == 1 and sum(server.batch_by_key.values()) == 1
        assert (first.sent, first.pending, first.stopped_by_budget) == (1, 5, True)
        # a cap that fits 3 worst cases: 3 go out (batch_size 2), no more until they are back
        worst = (len(SYSTEM + "req r0") / 3 * price.input + 4096 * price.output) / 2e6
        budget = Budget(limit_usd=budget.spent_usd + 3.5 * worst, price=price)
        summary = executor.run(reqs(6, ANTHROPIC), journal, state_dir=tmp_path, budget=budget)
    assert server.hits[CREATE[ANTHROPIC]] >= 2 and sum(server.batch_by_key.values()) == 6
    batches = json.loads((tmp_path / STATE_FILE).read_text())["batches"]
    assert [b["request_ids"] for b in batches[1:3]] == [["r1", "r2"], ["r3"]]  # then wait
    assert (summary.reused, summary.sent, summary.pending) == (1, 5, 0)
