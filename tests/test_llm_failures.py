"""What the online executor does when things go wrong: a bug is raised (never retried or
logged as a provider glitch), an unreadable 200 body is a malformed response, and a provider
that does not answer is reported on stderr while msmkit waits, then given up on with one
line."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from conftest import run_cli
from fakes import FakeLLMServer

from msmkit.llm import LLMRequest, ResultJournal
from msmkit.llm import online as online_mod
from msmkit.llm.online import OnlineExecutor, classify
from msmkit.llm.settings import ProviderSettings
from msmkit.llm.waiting import ProviderUnavailableError

ANTHROPIC = "anthropic/claude-sonnet-4-5"
OPENAI = "openai/gpt-4.1"
KEY = "sk-ant-fake-0123456789abcdef"


@pytest.fixture(autouse=True)
def fake_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-openai-0123456789abcdef")


def reqs(n: int, model: str = ANTHROPIC, **kw: object) -> list[LLMRequest]:
    return [LLMRequest(id=f"r{i}", model=model, prompt=f"req r{i}", **kw) for i in range(n)]


def executor(url: str, model: str = ANTHROPIC, model_args=None, **kw: object):
    base = url if model.startswith("anthropic") else url + "/v1"
    settings = ProviderSettings(
        model=model, base_url=base, backoff_initial_s=0.01, backoff_max_s=0.05, **kw
    )
    return OnlineExecutor(settings, **(model_args or {}))


def refused_url() -> str:
    """A local port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- bugs are raised -----------------------------------------------------------------------------


def test_a_bug_after_the_answer_is_raised_after_one_request(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise TypeError("injected bug")

    monkeypatch.setattr(online_mod, "to_result", broken)
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer() as server, pytest.raises(TypeError, match="injected bug"):
        executor(server.url, max_connections=1).run(reqs(3), journal, state_dir=tmp_path)
    assert sum(server.by_key.values()) == 1 and len(journal) == 0
    assert not (tmp_path / "j.jsonl").exists()


def test_a_bug_in_the_body_check_is_raised_not_retried(monkeypatch, tmp_path):
    def broken(path, raw):
        raise KeyError("injected")

    monkeypatch.setattr(online_mod, "body_problem", broken)
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer() as server, pytest.raises(KeyError, match="injected"):
        executor(server.url, max_connections=1).run(reqs(2), journal, state_dir=tmp_path)
    assert sum(server.by_key.values()) == 1 and len(journal) == 0


def test_without_msmkit_body_check_inspect_type_error_is_raised(tmp_path):
    """An HTTP client of the caller's own has no body check: the incomplete body then
    reaches Inspect, whose TypeError is a bug somewhere, not a provider glitch."""
    import anthropic

    journal = ResultJournal(tmp_path / "j.jsonl")
    client = {"http_client": anthropic.DefaultAsyncHttpxClient()}
    with FakeLLMServer(faults={"req r0": ["incomplete"]}) as server, pytest.raises(TypeError):
        executor(server.url, model_args=client, max_connections=1).run(
            reqs(2), journal, state_dir=tmp_path
        )
    assert server.by_key == {"req r0": 1} and len(journal) == 0


# -- malformed bodies are retried, then counted ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "max_tokens", "fault", "problem"),
    [
        (ANTHROPIC, 100, "malformed", "the body is not JSON"),
        (ANTHROPIC, 100, "incomplete", "the body has no 'content' or 'usage'"),
        (ANTHROPIC, 9000, "incomplete", "the body has no 'content' or 'usage'"),  # streamed
        (OPENAI, 100, "malformed", "the body is not JSON"),
        (OPENAI, 100, "incomplete", "the body has no 'choices'"),
    ],
)
def test_unreadable_bodies_are_malformed_responses(model, max_tokens, fault, problem, tmp_path):
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r0": [fault] * 3}) as server:
        summary = executor(server.url, model).run(
            reqs(2, model, max_tokens=max_tokens), journal, state_dir=tmp_path
        )
    assert server.by_key == {"req r0": 3, "req r1": 1}  # 1 + MALFORMED_RETRIES
    assert (summary.sent, summary.failed) == (1, 1) and "r0" not in journal
    error = summary.errors["r0"]
    assert error.startswith("malformed response: ") and problem in error


def test_malformed_retries_stay_within_max_retries(tmp_path):
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r0": ["malformed"] * 3}) as server:
        summary = executor(server.url, max_retries=1).run(reqs(1), journal, state_dir=tmp_path)
    assert server.by_key == {"req r0": 2} and summary.failed == 1


def test_body_problem_accepts_real_shapes():
    anthropic_ok = {"content": [], "usage": {"input_tokens": 1}, "type": "message"}
    openai_ok = {"choices": [{"message": {"content": "x"}}]}
    assert online_mod.body_problem("/v1/messages", json.dumps(anthropic_ok).encode()) is None
    assert online_mod.body_problem("/chat/completions", json.dumps(openai_ok).encode()) is None
    assert online_mod.body_problem("/v1/models", b"not json") is None  # not a completion
    bad_choice = json.dumps({"choices": [{"index": 0}]}).encode()
    assert online_mod.body_problem("/v1/chat/completions", bad_choice) == (
        "a choice in the body has no 'message'"
    )
    assert online_mod.body_problem("/v1/messages", b"[]") == "the body is not a JSON object"


def test_classify_without_a_retry_error_asks_the_provider():
    """On an Inspect that raised errors as they are, the provider's public should_retry
    decides; bugs and unreadable bodies are recognised either way."""

    class Decision:
        retry = True

    class Overloaded(Exception):
        pass

    err = Overloaded()
    assert classify(err, lambda ex: Decision()) == ("retry", err)
    assert classify(err, lambda ex: False) == ("final", err)
    bug = AttributeError("no such field")
    assert classify(bug, lambda ex: True) == ("bug", bug)
    bad = json.JSONDecodeError("x", "doc", 0)
    assert classify(bad, lambda ex: False) == ("malformed", bad)


# -- waiting on a provider that does not answer ---------------------------------------------------


def test_connection_refused_is_reported_then_given_up(tmp_path, capsys):
    url = refused_url()
    journal = ResultJournal(tmp_path / "j.jsonl")
    with pytest.raises(ProviderUnavailableError) as err:
        executor(url, max_retries=2, max_connections=2).run(reqs(3), journal, state_dir=tmp_path)
    place = f"{url.removeprefix('http://')} ({ANTHROPIC})"
    message = str(err.value)
    assert message.startswith(f"gave up on {place} after 3 attempts: APIConnectionError")
    assert "[Errno 111]" in message and "\n" not in message  # ECONNREFUSED
    assert "rerun the same command" in err.value.hint
    stderr = capsys.readouterr().err
    assert f"waiting: {place}: APIConnectionError" in stderr
    assert "retry 1 of 2 in " in stderr
    assert len(journal) == 0


def test_a_hung_provider_is_reported_then_given_up(tmp_path, capsys):
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r0": ["hang", "hang"]}) as server:
        with pytest.raises(
            ProviderUnavailableError, match=r"after 2 attempts: no answer within 1 s"
        ):
            executor(server.url, max_retries=1, timeout_s=1, max_connections=1).run(
                reqs(1), journal, state_dir=tmp_path
            )
        assert server.by_key == {"req r0": 2}
    stderr = capsys.readouterr().err
    assert "waiting: 127.0.0.1:" in stderr and "no answer within 1 s; retry 1 of 1 in " in stderr


def test_silence_is_reported_while_waiting(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(OnlineExecutor, "quiet_s", 0.3)
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r0": ["slow:2"]}) as server:
        summary = executor(server.url, max_connections=1).run(reqs(1), journal, state_dir=tmp_path)
    assert summary.sent == 1 and journal.get("r0").attempts == 1
    stderr = capsys.readouterr().err
    assert f"waiting: 127.0.0.1:{server.url.rsplit(':', 1)[1]} ({ANTHROPIC}): no answer yet" in (
        stderr
    )
    assert "(1 request in flight; an attempt is abandoned after 300 s and retried)" in stderr


def test_a_failure_after_answers_is_a_failed_request_not_the_end(tmp_path):
    journal = ResultJournal(tmp_path / "j.jsonl")
    with FakeLLMServer(faults={"req r1": ["hang", "hang"]}) as server:
        summary = executor(server.url, max_retries=1, timeout_s=1, max_connections=1).run(
            reqs(3), journal, state_dir=tmp_path
        )
    assert (summary.sent, summary.failed) == (2, 1)
    assert summary.errors["r1"] == "no answer within 1 s"


def test_generate_docs_without_a_provider_says_so_and_stops(tmp_path):
    url = refused_url()
    env = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": KEY}
    provider = "provider={max_retries: 1, backoff_initial_s: 0.05, backoff_max_s: 0.1}"
    out = tmp_path / "out"
    args = ["generate", "docs", "pro-america", "-o", str(out), "--model", ANTHROPIC]
    result = run_cli(*args, "-O", "domains=1", "-O", provider, env=env, cwd=tmp_path)
    assert result.returncode == 1
    place = f"{url.removeprefix('http://')} ({ANTHROPIC})"
    assert f"waiting: {place}: APIConnectionError" in result.stderr
    assert "retry 1 of 1 in" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: gave up on {place} after 2 attempts")
    assert "Traceback" not in result.stderr
