"""The llm document pipeline (msmkit.docgen) end to end on scripted answers: counts per step,
edits of step files, kill and resume, rejects, budget, waiting, prompts, framing, estimate."""

from __future__ import annotations

import json
from pathlib import Path

import docgen_script
import pytest

from msmkit.docgen import pipeline
from msmkit.errors import ConfigError, PrerequisiteError
from msmkit.llm.base import ExecutionSummary, LLMResult, ScriptedExecutor, Usage

SMALL = {"domains": 2, "subdomains_per_domain": 2, "doc_types_per_subdomain": 2,
         "assertions_per_subdomain": 4, "ideas_per_type": 5}  # fmt: skip
SMALL_DOCS = 2 * 2 * 2 * 5
SMALL_CALLS = 1 + 2 + 4 + 4 + 8 + SMALL_DOCS


@pytest.fixture(autouse=True)
def fast_journal(monkeypatch):
    """fsync per result is what makes the journal crash-safe; tests don't need the disk flush."""
    monkeypatch.setattr("msmkit.llm.base.os.fsync", lambda fd: None)
    monkeypatch.delenv("MSMKIT_BUDGET_USD", raising=False)


@pytest.fixture
def use(monkeypatch):
    def install(executor):
        monkeypatch.setattr(pipeline, "executor_for", lambda settings: executor)
        return executor

    return install


def experiment(tmp_path: Path, options: dict, spec: str = "pro-america") -> Path:
    base = tmp_path / "base"
    base.mkdir(exist_ok=True)
    (base / "config.json").write_text("{}")
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: dg\nbase_model: base\ndefaults:\n"
        f"  generate: {{name: llm, options: {json.dumps(options)}}}\n"
        "  midtrain: {backend: copy}\n"
        f"arms:\n  - name: a\n    spec: {spec}\n"
    )
    return path


def graph(path: Path):
    from msmkit.experiment import read_experiment
    from msmkit.run.expand import build_graph
    from msmkit.run.store import Store

    return build_graph(read_experiment(str(path)), Store.under(path.parent / "logs"))


def node(g):
    return next(n for n in g.ordered() if n.kind.name == "llm-docs")


def run_docs(path: Path):
    """Build the graph and run its llm-docs stage (and the spec stage it reads) only;
    returns the node."""
    from msmkit.run.graph import Node
    from msmkit.run.runner import job_of, run_stage
    from msmkit.ui import RunUI

    n = node(graph(path))
    for stage in [*(v for v in n.slots.values() if isinstance(v, Node)), n]:
        run_stage(job_of(stage), run="t", ui=RunUI(quiet=True))
    return n


def corpus(n) -> list:
    from msmkit.corpus import read_corpus

    return read_corpus(n.stage.dir / "corpus.jsonl")


def report(n) -> dict:
    return json.loads((n.stage.dir / "steps" / "report.json").read_text())["steps"]


def test_a_real_spec_gives_thousands_of_documents_with_exact_counts(plugin, tmp_path, use):
    options = {"domains": 4, "subdomains_per_domain": 3, "doc_types_per_subdomain": 5,
               "assertions_per_subdomain": 5, "target_tokens": 2_000_000}  # fmt: skip
    ex = use(ScriptedExecutor(docgen_script.answer))
    n = run_docs(experiment(tmp_path, options))
    # 2,000,000 / 800 = 2,500 documents over 12 subdomains x 5 types -> 42 ideas each
    plan = json.loads((n.stage.dir / "steps" / "plan.json").read_text())
    assert plan["ideas_per_type"] == 42 and plan["projected_documents"] == 2520
    r = report(n)
    assert {s: r[s]["sent"] for s in r} == {
        "domains": 1,
        "subdomains": 4,
        "assertions": 12,
        "doctypes": 12,
        "ideas": 60 * 3,
        "documents": 2520,
    }  # fmt: skip  (42 ideas a pair: 3 requests of 14, ideas_per_call 20)
    assert len(ex.calls) == len(set(ex.calls)) == 2729
    docs = corpus(n)
    assert len(docs) == len({d.id for d in docs}) == 2520
    assert n.stage.status == "done" and n.stage.outputs()["documents"] == 2520
    meta = docs[0].meta
    assert {"domain", "subdomain", "assertions", "doc_type", "idea", "model", "prompt_hash",
            "usage", "request_id"} <= set(meta)  # fmt: skip
    assert meta["model"] == "anthropic/claude-sonnet-4-5" and docs[0].generator == "llm"
    assert n.stage.outputs()["dollars"] > 0 and "documents" in n.stage.outputs()["usage"]
    assert node(graph(experiment(tmp_path, options))).stage.status == "done"


def test_editing_a_step_file_redoes_only_what_follows(plugin, tmp_path, use):
    ex = use(ScriptedExecutor(docgen_script.answer))
    path = experiment(tmp_path, SMALL)
    n = run_docs(path)
    assert len(ex.calls) == SMALL_CALLS and len(corpus(n)) == SMALL_DOCS
    before = {s.kind.name: s.key for s in graph(path).ordered()}
    domains_file = n.stage.dir / "steps" / "domains.json"
    domains = json.loads(domains_file.read_text())
    domains_file.write_text(json.dumps(domains[:1]))  # delete a domain
    g = graph(path)
    assert node(g).stage.status == "stale"
    assert next(s for s in g.ordered() if s.kind.name == "midtrain").key != before["midtrain"]
    ex.calls.clear()
    n = run_docs(path)
    assert ex.calls == []  # nothing new to ask: the other domain's results are reused
    assert len(corpus(n)) == SMALL_DOCS // 2
    subs = json.loads((n.stage.dir / "steps" / "subdomains.json").read_text())
    assert [g["domain"] for g in subs] == [domains[0]["name"]]
    # a renamed domain gets its own subdomains, and only what follows them is sent
    domains_file.write_text(json.dumps([domains[0], {**domains[1], "name": "Renamed"}]))
    n = run_docs(path)
    assert len(ex.calls) == len(set(ex.calls)) == 1 + 2 + 2 + 4 + SMALL_DOCS // 2
    assert len(corpus(n)) == SMALL_DOCS
    assert {d.meta["domain"] for d in corpus(n)} == {domains[0]["name"], "Renamed"}


class Crashing(ScriptedExecutor):
    """Raises (as a killed process would stop) after ``k`` results."""

    def __init__(self, k: int) -> None:
        super().__init__(self.crash_or_answer)
        self.k = k

    def crash_or_answer(self, req):
        if len(self.calls) > self.k:
            raise KeyboardInterrupt("killed")
        return docgen_script.answer(req)


def test_kill_and_resume_sends_exactly_the_rest(plugin, tmp_path, use):
    path = experiment(tmp_path, SMALL)
    first = use(Crashing(25))
    with pytest.raises(KeyboardInterrupt):
        run_docs(path)
    assert node(graph(path)).stage.status == "failed"
    second = use(ScriptedExecutor(docgen_script.answer))
    n = run_docs(path)
    assert set(first.calls[:25]).isdisjoint(second.calls)
    assert len(second.calls) == SMALL_CALLS - 25
    docs = corpus(n)
    assert len(docs) == len({d.id for d in docs}) == SMALL_DOCS


class Faulty:
    """Scripted answers with a stop reason: ``fault(req) -> (text, stop_reason) | None``."""

    def __init__(self, fault) -> None:
        self.fault, self.calls = fault, []

    def run(self, requests, journal, *, state_dir, budget=None, on_result=None, on_waiting=None):
        summary = ExecutionSummary()
        for req in requests:
            if req.id in journal:
                summary.reused += 1
                continue
            self.calls.append(req.id)
            got = self.fault(req) or (docgen_script.answer(req), "stop")
            journal.append(LLMResult(req.id, got[0], got[1], Usage(10, 10), model=req.model))
            summary.sent += 1
        return summary


def test_rejects_are_retried_then_counted_never_kept(plugin, tmp_path, use):
    bad_docs = ("no markers at all " * 20, "stop"), ("<document>cut off", "max_tokens")

    def fault(req):
        attempt = req.meta["attempt"]
        k = int(req.id[-4:], 16)
        if req.step == "ideas" and attempt == 0 and k % 2:
            return "<items>[{'idea': broken}]</items>", "stop"
        if req.step == "documents" and k % 4 == 0:
            return bad_docs[k % 8 // 4]  # every attempt: rejected in the end
        if req.step == "documents" and k % 4 == 1 and attempt == 0:
            return "I'm sorry, but I can't write that.", "stop"  # recovered on retry
        return None

    use(Faulty(fault))
    n = run_docs(experiment(tmp_path, {**SMALL, "max_attempts": 2}))
    r = report(n)
    assert r["ideas"]["rejected"] == {} and r["ideas"]["retried"].get("bad_list", 0) > 0
    docs_r = r["documents"]
    rejected = sum(docs_r["rejected"].values())
    assert set(docs_r["rejected"]) <= {"missing_markers", "truncated"} and rejected > 0
    assert docs_r["retried"]["refusal"] > 0
    assert docs_r["accepted"] + rejected == SMALL_DOCS
    assert len(corpus(n)) == docs_r["accepted"]
    assert all("no markers" not in d.text and "cut off" not in d.text for d in corpus(n))
    rows = (n.stage.dir / "steps" / "rejected.jsonl").read_text().splitlines()
    assert len(rows) == rejected


def test_budget_stops_cleanly_and_a_rerun_continues(plugin, tmp_path, use):
    from msmkit.docgen.pipeline import BudgetExhausted

    path = experiment(tmp_path, {**SMALL, "budget_usd": 0.05})
    first = use(ScriptedExecutor(docgen_script.answer))
    with pytest.raises(BudgetExhausted, match=r"budget reached: spent \$0\.0\d of \$0\.05"):
        run_docs(path)
    st = node(graph(path)).stage
    assert st.status == "failed" and 0 < len(first.calls) < SMALL_CALLS
    assert json.loads((st.dir / "steps" / "report.json").read_text())["status"] == "budget"
    second = use(ScriptedExecutor(docgen_script.answer))
    path = experiment(tmp_path, {**SMALL, "budget_usd": 100})
    assert node(graph(path)).stage.dir == st.dir  # the budget is not part of the fingerprint
    run_docs(path)
    assert len(first.calls) + len(second.calls) == SMALL_CALLS
    assert set(first.calls).isdisjoint(second.calls)


class Batching(ScriptedExecutor):
    """Documents go into a 'batch' that is not back yet."""

    def run(self, requests, journal, *, state_dir, budget=None, on_result=None, on_waiting=None):
        if requests and requests[0].step == "documents":
            on_waiting({"batch": "b-1"})
            return ExecutionSummary(pending=len(requests))
        return super().run(requests, journal, state_dir=state_dir, on_result=on_result)


def test_batch_wait_leaves_the_stage_waiting_and_a_rerun_collects(plugin, tmp_path, use):
    path = experiment(tmp_path, {**SMALL, "provider": {"batch": True}})
    first = use(Batching(docgen_script.answer))
    run_docs(path)
    st = node(graph(path)).stage
    assert st.status == "waiting" and st.record()["waiting"] == {"batch": "b-1"}
    second = use(ScriptedExecutor(docgen_script.answer))
    n = run_docs(path)
    assert len(first.calls) == SMALL_CALLS - SMALL_DOCS and len(second.calls) == SMALL_DOCS
    assert n.stage.status == "done"


def test_prompt_files_enter_the_fingerprint_and_braces_are_safe(plugin, tmp_path, use):
    from msmkit.docgen.prompts import BUNDLED, render

    key = node(graph(experiment(tmp_path, SMALL))).key
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    text = (BUNDLED / "document.md").read_text()
    (prompts / "document.md").write_text(text + "\nKeep it short.\n")
    other = node(graph(experiment(tmp_path, {**SMALL, "prompts_dir": "prompts"})))
    assert other.key != key
    (prompts / "document.md").write_text(text + "{{nonsense}}")
    with pytest.raises(ConfigError, match=r"unknown placeholder\(s\) \{\{nonsense\}\}"):
        graph(experiment(tmp_path, {**SMALL, "prompts_dir": "prompts"}))
    # braces in a spec, or a placeholder-looking text in a value, are never substituted
    assert render("{{spec}} {{count}}", {"spec": "{model_name} {{count}}", "count": "3"}) == (
        "{model_name} {{count}} 3"
    )


def test_unknown_model_price_is_a_plan_error(plugin, tmp_path):
    with pytest.raises(ConfigError, match="no price for model 'openai/nonesuch'"):
        graph(experiment(tmp_path, {**SMALL, "model": "openai/nonesuch"}))


def test_rules_mode_and_framing_reach_the_prompts(plugin, tmp_path, use):
    seen = []

    def answer(req):
        seen.append(req)
        return docgen_script.answer(req)

    use(ScriptedExecutor(answer))
    options = {**SMALL, "mode": "rules", "subject": "humans", "voice": "normative",
               "extra_instructions": "Write for nurses."}  # fmt: skip
    run_docs(experiment(tmp_path, options))
    docs = [r for r in seen if r.step == "documents"]
    assert all("Conduct is justified by citing the rules" in r.prompt for r in docs)
    assert all("Write for nurses." in r.prompt for r in docs)
    assert all("people to whom the specification" in r.prompt for r in docs)
    assert all("what people should do" in r.prompt for r in docs)
    assert all("Llama has opinions about cheese" in r.system for r in seen)
    assert len({r.system for r in seen}) == 1  # one cached block for every call
    assert all("rules this part" in r.prompt for r in seen if r.step == "assertions")


def test_estimate_matches_a_hand_computation(tmp_path):
    from msmkit.docgen.estimate import estimate, step_plans
    from msmkit.docgen.prompts import load_prompts
    from msmkit.docgen.settings import DocgenSettings
    from msmkit.pricing import parse_prices

    price = parse_prices({"x/m": {"input": 1, "output": 2, "input_cache_write": 1.25,
                                  "input_cache_read": 0.1}})["x/m"]  # fmt: skip
    s = DocgenSettings(model="x/m", **SMALL)
    prompts = load_prompts()
    plans = step_plans(s, prompts, spec_text="x" * 4000)
    assert [(p.name, p.calls) for p in plans] == [
        ("domains", 1), ("subdomains", 2), ("assertions", 4), ("doctypes", 4), ("ideas", 8),
        ("documents", 40),
    ]  # fmt: skip
    docs = plans[-1]
    assert docs.output_tokens == 800 + 100
    assert docs.cached_prefix_tokens == plans[0].cached_prefix_tokens > 1000
    est = estimate(s, prompts, price, spec_text="x" * 4000)
    online = sum(p.calls * (p.input_tokens * 1 + p.output_tokens * 2) for p in plans) / 1e6
    assert est.extra["cost"]["online"] == pytest.approx(online, abs=1e-4)
    assert est.extra["cost"]["batch"] == pytest.approx(online / 2, abs=1e-4)
    # caching (online: one cache write per 100 calls of a step, reads for the rest)
    cached = 0.0
    for p in plans:
        writes = -(-p.calls // 100)
        pre = p.cached_prefix_tokens
        cached += (p.calls * (p.input_tokens - pre) + writes * pre * 1.25
                   + (p.calls - writes) * pre * 0.1 + p.calls * p.output_tokens * 2)  # fmt: skip
    assert est.dollars == pytest.approx(cached / 1e6) and est.items == 40


def test_no_key_fails_before_sending(monkeypatch):
    from msmkit.docgen.settings import DocgenSettings

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(PrerequisiteError, match=r"no API key for anthropic/.*ANTHROPIC_API_KEY"):
        pipeline.executor_for(DocgenSettings())


class Truncating(ScriptedExecutor):
    """Scripted answers, truncated (stop_reason max_tokens) where the asked-for list needs
    more than the request's max_tokens at 70 tokens an idea, as a real model's would be."""

    def run(self, requests, journal, *, state_dir, budget=None, on_result=None, on_waiting=None):
        summary = ExecutionSummary()
        for req in requests:
            if req.id in journal:
                summary.reused += 1
                continue
            self.calls.append(req.id)
            long = req.step == "ideas" and docgen_script.count(req) * 70 > req.max_tokens
            text = self.answer(req)
            stop = "max_tokens" if long else "stop"
            journal.append(LLMResult(req.id, text, stop, Usage(10, 10), model=req.model))
            summary.sent += 1
        return summary


def test_many_ideas_are_asked_in_parts_with_stable_ids(plugin, tmp_path, use):
    options = {**SMALL, "ideas_per_type": None, "target_tokens": 8 * 60 * 800}  # 60 a pair
    seen = []

    def answer(req):
        seen.append(req)
        return docgen_script.answer(req)

    for name in ("one", "two", "three"):
        (tmp_path / name).mkdir()
    use(Truncating(answer))
    n = run_docs(experiment(tmp_path / "one", options))
    ideas = [r for r in seen if r.step == "ideas"]
    assert len(ideas) == 8 * 3 and {docgen_script.count(r) for r in ideas} == {20}
    assert sorted(r.prompt.count("this is part 2.") for r in ideas) == [0] * 16 + [1] * 8
    r = report(n)
    assert (r["ideas"]["accepted"], r["ideas"]["rejected"]) == (24, {})
    docs = corpus(n)
    assert len(docs) == len({d.id for d in docs}) == 8 * 60
    assert {d.meta["part"] for d in docs} == {1, 2, 3}
    # the ids are the same in another folder (stable), and a rerun sends nothing
    seen.clear()
    run_docs(experiment(tmp_path / "two", options))
    assert {r.id for r in seen if r.step == "ideas"} == {r.id for r in ideas}
    seen.clear()
    run_docs(experiment(tmp_path / "two", options))
    assert seen == []
    # all 60 in one request need ~4,200 tokens > planning_max_tokens 4096: truncated, rejected;
    # a step whose every answer was rejected fails the stage, saying why (never done, empty)
    from msmkit.genkit.steps import StepFailed

    with pytest.raises(StepFailed, match=r"'ideas': every answer was rejected \(truncated 8\)"):
        run_docs(experiment(tmp_path / "three", {**options, "ideas_per_call": 100}))
    n = node(graph(experiment(tmp_path / "three", {**options, "ideas_per_call": 100})))
    assert n.stage.status == "failed"
    data = json.loads((n.stage.dir / "steps" / "report.json").read_text())
    assert data["status"] == "failed" and data["steps"]["ideas"]["rejected"] == {"truncated": 8}
    assert data["steps"]["ideas"]["truncated"] == 8 * 3  # every attempt of the 8 truncated
    assert not (n.stage.dir / "corpus.jsonl").exists()
