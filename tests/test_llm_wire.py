"""Wire-protocol corners a real user hits: Anthropic SSE streams (Inspect streams calls with
``max_tokens >= 8192`` or reasoning), a stream cut mid-way, 200 responses that are not JSON
or lack required fields, and ``openai/gpt-5`` kept on Chat Completions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeLLMServer

from msmkit.llm import LLMRequest, ResultJournal
from msmkit.llm.online import OnlineExecutor
from msmkit.llm.settings import ProviderSettings

ANTHROPIC = "anthropic/claude-sonnet-4-5"
SYSTEM = "The spec says cheese should be affordable for everyone in the world"  # 12 words


@pytest.fixture(autouse=True)
def fake_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-0123456789abcdef")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-openai-0123456789abcdef")


def reqs(n: int, model: str = ANTHROPIC, **kw: object) -> list[LLMRequest]:
    return [
        LLMRequest(id=f"r{i}", model=model, prompt=f"req r{i}", system=SYSTEM, **kw)
        for i in range(n)
    ]


def run(server: FakeLLMServer, requests: list[LLMRequest], tmp_path: Path, **kw: object):
    model = requests[0].model
    base = server.url if model.startswith("anthropic") else server.url + "/v1"
    settings = ProviderSettings(model=model, base_url=base, backoff_initial_s=0.01, **kw)
    journal = ResultJournal(tmp_path / "j.jsonl")
    return OnlineExecutor(settings).run(requests, journal, state_dir=tmp_path), journal


def test_long_anthropic_calls_stream_and_usage_is_exact(tmp_path: Path) -> None:
    long = lambda key, body: " ".join(["word"] * 30)  # noqa: E731
    with FakeLLMServer(responder=long) as server:
        summary, journal = run(server, reqs(5, max_tokens=8192), tmp_path, max_connections=2)
    assert server.streamed == {f"req r{i}": 1 for i in range(5)}  # every call was SSE
    assert (summary.sent, summary.failed) == (5, 0)
    for result in journal.results().values():
        assert result.text == " ".join(["word"] * 30) and result.stop_reason == "stop"
    usage = journal.usage()  # 2 prompt words each; the 12-word system written once, read 4x
    assert (usage.input_tokens, usage.output_tokens) == (10, 150)
    assert (usage.cache_write_tokens, usage.cache_read_tokens) == (12, 48)


def test_streamed_truncation_is_max_tokens(tmp_path: Path) -> None:
    with FakeLLMServer(faults={"req r0": ["truncate"]}) as server:
        _, journal = run(server, reqs(1, max_tokens=9000), tmp_path)
    assert server.streamed["req r0"] == 1 and journal.get("r0").stop_reason == "max_tokens"


def test_a_stream_cut_before_message_stop_is_retried(tmp_path: Path) -> None:
    with FakeLLMServer(faults={"req r0": ["cut"]}) as server:
        summary, journal = run(server, reqs(2, max_tokens=9000), tmp_path)
    assert server.by_key == {"req r0": 2, "req r1": 1}
    assert summary.sent == 2 and journal.get("r0").attempts == 2 and journal.get("r0").ok


@pytest.mark.parametrize("model", [ANTHROPIC, "openai/gpt-4.1"])
@pytest.mark.parametrize("fault", ["malformed", "incomplete"])
def test_unreadable_200_is_retried_then_counted_never_journaled(
    model: str, fault: str, tmp_path: Path
) -> None:
    # once: retried (bounded) and answered
    with FakeLLMServer(faults={"req r0": [fault]}) as server:
        summary, journal = run(server, reqs(2, model), tmp_path)
    assert server.by_key == {"req r0": 2, "req r1": 1} and summary.sent == 2
    assert journal.get("r0").attempts == 2 and journal.get("r0").ok
    # every time: 1 + 2 tries, then a failed request, nothing journaled, a rerun retries it
    (tmp_path / "j.jsonl").unlink()
    with FakeLLMServer(faults={"req r0": [fault] * 3}) as server:
        summary, journal = run(server, reqs(2, model), tmp_path)
        assert server.by_key["req r0"] == 3
        assert (summary.sent, summary.failed) == (1, 1) and "r0" not in journal
        assert summary.errors["r0"].startswith("malformed response: ")
        again, journal = run(server, reqs(2, model), tmp_path)
    assert (again.reused, again.sent) == (1, 1) and journal.get("r0").ok


def test_gpt_5_goes_to_chat_completions_not_the_responses_api(tmp_path: Path) -> None:
    with FakeLLMServer() as server:
        summary, journal = run(server, reqs(2, "openai/gpt-5"), tmp_path)
    assert server.hits["POST /v1/chat/completions"] == 2 and summary.sent == 2
    assert server.hits["POST /v1/responses"] == 0 and journal.get("r0").ok


def test_anthropic_sampling_params_are_not_sent_online_or_in_batches(tmp_path: Path) -> None:
    """The SDK's API version (2026-10-21) rejects temperature on every model, which the fake
    does too; neither Inspect's online path nor msmkit's batches send it."""
    import anthropic

    from msmkit.llm import make_executor

    with FakeLLMServer() as server:
        client = anthropic.Anthropic(api_key="sk-ant-fake-0123456789abcdef", base_url=server.url)
        with pytest.raises(anthropic.BadRequestError, match="temperature"):
            client.messages.create(  # the SDK itself no longer takes temperature=
                model="m",
                max_tokens=10,
                messages=[{"role": "user", "content": "x"}],
                extra_body={"temperature": 1.0},
            )
        summary, _ = run(server, reqs(2, temperature=1.0), tmp_path)
        assert summary.sent == 2
        settings = {"model": ANTHROPIC, "base_url": server.url, "batch": True}
        batch = make_executor(settings).run(
            reqs(3, temperature=1.0), ResultJournal(tmp_path / "b.jsonl"), state_dir=tmp_path
        )
    assert (batch.sent, batch.failed) == (3, 0)
    assert server.status_counts[400] == 1 and server.hits["POST /v1/messages/batches"] == 1
