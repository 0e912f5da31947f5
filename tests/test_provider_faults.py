"""The provider layer's faults (issue 15), each against the fake server or the real planner:
failed requests are errors with the provider's cause (never "waiting"), the online budget
holds within one request's worst case, a step whose every answer was rejected fails, absurd
targets and requests that cannot fit the model are refused at plan time, a spec block below
the model's minimum cacheable length plans no cache saving, no traceback for a file as
``-o`` or an unknown provider, later idea parts see the earlier ones, reasoning models get a
hidden-reasoning budget, and ``--probe`` reports the yield per dollar."""

from __future__ import annotations

import json
from pathlib import Path

import docgen_script
import pytest
from fakes import FakeLLMServer
from fakes.scripted import pipeline_responder, prompt_key

from msmkit.llm.base import Budget, LLMRequest, LLMResult, ResultJournal, ScriptedExecutor, Usage
from msmkit.pricing import get_price, load_prices

MODEL = "anthropic/claude-sonnet-4-5"
KEY = "sk-ant-fake-0123456789abcdef"
SHAPE = ["-O", "domains=1", "-O", "subdomains_per_domain=1", "-O", "doc_types_per_subdomain=1",
         "-O", "assertions_per_subdomain=2", "-O", "ideas_per_type=2"]  # fmt: skip


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("MSMKIT_BUDGET_USD", raising=False)
    monkeypatch.setattr("msmkit.llm.base.os.fsync", lambda fd: None)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``msmkit ARGV`` in this process, as main() runs it (errors rendered, exit code)."""
    from msmkit.cli import main

    capsys.readouterr()
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def docs(out: Path, server: FakeLLMServer, *extra: str) -> list[str]:
    head = ("generate", "docs", "pro-america", "-o", str(out), "--model", MODEL, *SHAPE)
    return [*head, "-O", f"provider={{base_url: '{server.url}', backoff_initial_s: 0.01}}",
            *extra]  # fmt: skip


# -- failed requests are errors, with the provider's cause -----------------------------------


def test_out_of_429_retries_exits_1_with_the_cause_not_waiting(tmp_path, capsys):
    out = tmp_path / "gen"
    with FakeLLMServer(responder=pipeline_responder, key_fn=prompt_key) as server:
        server.global_faults.extend(["429"] * 3)  # the domains request: 3 attempts, 3 x 429
        argv = docs(out, server)
        argv[-1] = argv[-1].replace("}", ", max_retries: 2}")
        code, _, err = cli(capsys, *argv)
        assert code == 1
        assert "1 request(s) of step 'domains' failed at the provider" in err
        assert "HTTP 429" in err and "waiting" not in err.replace("waiting:", "")
        record = json.loads((out / "stage.json").read_text())
        assert record["status"] == "failed" and "429" in record["error"]
        assert json.loads((out / "steps" / "report.json").read_text())["status"] == "failed"
        # the rerun asks again (nothing failed was journaled) and goes on
        code, _, err = cli(capsys, *argv)
    assert code == 0, err
    assert sum(server.by_key.values()) == 3 + 7  # 3 failed tries, then all 7 requests once


def test_a_rejected_key_exits_1_at_once_with_the_provider_message(tmp_path, capsys):
    out = tmp_path / "gen"
    with FakeLLMServer(responder=pipeline_responder, key_fn=prompt_key) as server:
        server.global_faults.append("401_echo")
        code, _, err = cli(capsys, *docs(out, server))
    assert code == 1
    assert "refused the request" in err and "HTTP 401" in err and KEY not in err
    assert sum(server.by_key.values()) == 1 and "Traceback" not in err


# -- the online budget -------------------------------------------------------------------------


def test_online_budget_holds_within_one_requests_worst_case(tmp_path):
    from msmkit.llm.online import OnlineExecutor
    from msmkit.llm.settings import ProviderSettings

    price = get_price(load_prices(), MODEL)
    long_answer = " ".join(["word"] * 200)
    journal = ResultJournal(tmp_path / "j.jsonl")
    requests = [
        LLMRequest(id=f"r{i}", model=MODEL, prompt=f"req r{i}", max_tokens=250) for i in range(40)
    ]
    with FakeLLMServer(responder=lambda key, body: long_answer, latency_s=0.2) as server:
        settings = ProviderSettings(model=MODEL, base_url=server.url, max_connections=16)
        one = (2 * price.input + 200 * price.output) / 1e6  # what one answer costs
        budget = Budget(limit_usd=3.5 * one, price=price)
        r0 = requests[0]  # its worst case: ~3 characters a token in, max_tokens out
        tokens_in = (len(r0.system) + len(r0.prompt)) / 3
        per_in = max(price.input, price.input_cache_write)
        worst = (tokens_in * per_in + r0.max_tokens * price.output) / 1e6
        summary = OnlineExecutor(settings).run(requests, journal, state_dir=tmp_path, budget=budget)
    spent = journal.usage().dollars(price)
    assert spent == pytest.approx(budget.spent_usd)
    assert spent <= budget.limit_usd + worst  # before: 16 in flight at once, ~16 x one
    assert summary.stopped_by_budget and summary.sent >= 3
    assert summary.sent + summary.pending == 40 and sum(server.by_key.values()) == summary.sent


# -- all-rejected steps fail; a rerun says so again -------------------------------------------


def test_every_answer_rejected_fails_with_reasons_and_again_on_rerun(tmp_path, capsys):
    out = tmp_path / "gen"
    with FakeLLMServer(responder=lambda key, body: "Here is my answer, without any list.") as s:
        code, _, err = cli(capsys, *docs(out, s))
        sent = sum(s.by_key.values())
        again, _, err2 = cli(capsys, *docs(out, s))
        assert sum(s.by_key.values()) == sent == 3  # 3 attempts; the rerun sent nothing
    assert code == again == 1
    for text in (err, err2):
        assert "step 'domains': every answer was rejected (missing_markers 1)" in text
    assert json.loads((out / "stage.json").read_text())["status"] == "failed"
    rows = (out / "steps" / "rejected.jsonl").read_text().splitlines()
    assert len(rows) == 1 and json.loads(rows[0])["reason"] == "missing_markers"


# -- refused at plan time, with the numbers ----------------------------------------------------


def test_absurd_target_is_refused_at_plan_with_the_numbers(tmp_path, capsys):
    code, out, err = cli(
        capsys, "generate", "docs", "pro-america", "-o", "g", "--target-tokens",
        "1000000000000000", "--plan",
    )  # fmt: skip
    assert code == 1 and out == ""
    assert "~1,250,000,000,000 documents" in err and "more than 5,000,000" in err


def test_a_spec_beyond_the_context_window_is_refused_at_plan(tmp_path, capsys):
    spec = tmp_path / "big.md"
    head = "---\nname: big\ntitle: t\ndescription: d\nsubject: Llama\nversion: '1'\n---\n"
    spec.write_text(head + "\n# Big\n\n## A\n\nRule: Llama is big.\n\nWhy: " + "x" * 5_000_000)
    code, _, err = cli(capsys, "generate", "docs", str(spec), "-o", "g", "--plan")
    assert code == 1
    assert "context window of 200,000 tokens" in err and "~1,250," in err


def test_planned_outputs_respect_max_tokens_and_say_so():
    from msmkit.docgen.estimate import estimate
    from msmkit.docgen.prompts import load_prompts
    from msmkit.docgen.settings import DocgenSettings

    price = get_price(load_prices(), MODEL)
    s = DocgenSettings(domains=2, planning_max_tokens=1024)
    est = estimate(s, load_prompts(), price, spec_text="y" * 40_000)
    subs = next(st for st in est.extra["steps"] if st["step"] == "subdomains")
    assert subs["output_tokens"] == 2 * 1024  # planned at max_tokens, not ~5,240 each
    assert any(n.startswith("subdomains: an answer needs ~5,240 tokens") for n in est.notes)


def test_no_cache_saving_below_the_models_minimum_cacheable_length():
    from msmkit.docgen.estimate import estimate
    from msmkit.docgen.prompts import load_prompts
    from msmkit.docgen.settings import DocgenSettings
    from msmkit.pricing import get_limits, load_limits

    spec = (Path(__file__).parents[1] / "specs" / "philosophy.md").read_text()
    notes = {}
    for model, saves in (("anthropic/claude-opus-4-5", False), (MODEL, True)):
        price, limits = get_price(load_prices(), model), get_limits(load_limits(), model)
        est = estimate(DocgenSettings(model=model), load_prompts(), price, spec_text=spec,
                       limits=limits)  # fmt: skip
        cost = est.extra["cost"]
        assert (cost["online+cache"] < cost["online"]) is saves
        assert (cost["batch+cache"] < cost["batch"]) is saves
        notes[model] = [n for n in est.notes if n.startswith("no prompt-cache saving")]
        assert bool(notes[model]) is not saves
    assert "minimum cacheable length (4,096 tokens)" in notes["anthropic/claude-opus-4-5"][0]


# -- no traceback ------------------------------------------------------------------------------


def test_a_file_in_the_out_path_is_one_line_not_a_traceback(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    for out in ("afile", "afile/sub"):
        code, _, err = cli(capsys, "generate", "docs", "pro-america", "-o", out)
        assert code == 1 and "Traceback" not in err and err.startswith("Error: ")
        assert "is a file" in err


def test_an_unknown_provider_is_refused_before_any_folder(tmp_path, capsys):
    prices = tmp_path / "p.yaml"
    prices.write_text("foo/bar: {input: 1, output: 1, input_cache_write: 1, input_cache_read: 1}")
    argv = ("generate", "docs", "pro-america", "-o", "g", "--model", "foo/bar", "--prices")
    code, _, err = cli(capsys, *argv, str(prices))
    assert code == 1 and "Inspect has no model provider 'foo'" in err
    assert "Traceback" not in err and not (tmp_path / "g").exists()


# -- ideas in parts, reasoning budgets, probes (on scripted answers) -----------------------------


@pytest.fixture
def use(monkeypatch):
    from msmkit.docgen import pipeline

    def install(executor):
        monkeypatch.setattr(pipeline, "executor_for", lambda settings: executor)
        return executor

    return install


def run_docs(tmp_path: Path, options: dict, probe: int | None = None):
    from msmkit.docgen.settings import DocgenSettings
    from msmkit.genkit.cli import run_in_folder
    from msmkit.registry import get_registry
    from msmkit.spec import load_spec
    from msmkit.stages.llm_docs import LLMDocsOptions
    from msmkit.stages.spec import external_spec

    opts = LLMDocsOptions(settings=DocgenSettings(**options), probe=probe)
    kentry = get_registry("stages").entry("llm-docs")
    est = type("E", (), {"items": 0, "tokens": 0, "extra": {}, "notes": []})()
    out = tmp_path / "gen"
    return out, run_in_folder(
        kentry, opts, {"spec": external_spec(load_spec("pro-america"))}, out, "t", est
    )


PAIRS = {"domains": 2, "subdomains_per_domain": 2, "doc_types_per_subdomain": 2,
         "assertions_per_subdomain": 4}  # fmt: skip


def test_later_idea_parts_see_the_earlier_ideas(tmp_path, use):
    """A model that repeats itself unless it is shown what it already proposed: before, the
    three parts of each pair gave the same 20 ideas; now every idea is distinct."""
    import re

    seen = []

    def answer(req):
        seen.append(req)
        if req.step != "ideas":
            return docgen_script.answer(req)
        shown = set(re.findall(r"^- (Idea \d+ of \w+)$", req.prompt, re.M))
        pair = re.search(r"Document type: (Type \d+)", req.prompt).group(1).replace(" ", "")
        pair += re.search(r"Subdomain: Sub (\d+ \w+)", req.prompt).group(1).replace(" ", "")
        fresh = (f"Idea {i} of {pair}" for i in range(1000))
        ideas = [i for i in fresh if i not in shown][: docgen_script.count(req)]
        return "<items>" + json.dumps([{"idea": i} for i in ideas]) + "</items>"

    use(ScriptedExecutor(answer))
    out, _ = run_docs(tmp_path, {**PAIRS, "target_tokens": 8 * 60 * 800})
    report = json.loads((out / "steps" / "report.json").read_text())["steps"]["ideas"]
    assert (report["distinct"], report["repeated"]) == (8 * 60, 0)
    part3 = [r for r in seen if r.step == "ideas" and "this is part 3." in r.prompt]
    assert len(part3) == 8 and all(r.prompt.count("\n- Idea ") == 40 for r in part3)


def test_a_reasoning_model_gets_a_hidden_budget_and_truncations_are_counted(
    tmp_path, use, monkeypatch
):
    from msmkit.genkit.checks import HIDDEN_REASONING_TOKENS

    class Thinking(ScriptedExecutor):
        def run(self, requests, journal, **kw):
            for req in requests:
                if req.id in journal:
                    continue
                self.calls.append(req)
                empty = req.step == "documents" and req.meta["attempt"] == 0
                text, stop = ("", "max_tokens") if empty else (docgen_script.answer(req), "stop")
                journal.append(LLMResult(req.id, text, stop, Usage(10, 10), model=req.model))
            from msmkit.llm.base import ExecutionSummary

            return ExecutionSummary(sent=len(requests))

    monkey = use(Thinking(docgen_script.answer))
    options = {**PAIRS, "ideas_per_type": 1, "model": "openai/gpt-5"}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-openai-0123456789")
    out, _ = run_docs(tmp_path, options)
    docs = [r for r in monkey.calls if r.step == "documents"]
    assert {r.max_tokens for r in docs} == {3000 + HIDDEN_REASONING_TOKENS}
    assert {r.reasoning_tokens for r in docs} == {None}
    report = json.loads((out / "steps" / "report.json").read_text())["steps"]["documents"]
    assert (report["truncated"], report["reasoning_truncated"], report["accepted"]) == (8, 8, 8)


def test_probe_reports_yield_and_a_rerun_goes_on_without_repeats(tmp_path, use, capsys):
    first = use(ScriptedExecutor(docgen_script.answer))
    out, outputs = run_docs(tmp_path, {**PAIRS, "ideas_per_type": 3}, probe=2)
    assert outputs is None  # left unfinished
    report = json.loads((out / "steps" / "report.json").read_text())
    assert report["status"] == "probe" and "accepted per $" in report["probe"]
    assert {s: r["sent"] for s, r in report["steps"].items()} == {
        "domains": 1, "subdomains": 2, "assertions": 2, "doctypes": 2, "ideas": 2, "documents": 2
    }  # fmt: skip
    assert "probe of 2 request(s) a step done" in " ".join(capsys.readouterr().err.split())
    second = use(ScriptedExecutor(docgen_script.answer))
    _, outputs = run_docs(tmp_path, {**PAIRS, "ideas_per_type": 3})
    assert outputs["documents"] == 24
    assert set(first.calls).isdisjoint(second.calls)
    assert len(first.calls) + len(second.calls) == 1 + 2 + 4 + 4 + 8 + 24
