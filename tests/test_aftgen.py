"""The AFT pipeline (msmkit.aftgen, the llm-aft stage) on scripted answers: exact counts per
step, grader rejections counted, backfill rounds persisted, the no-reasoning set equal to the
reasoning set without reasoning, styles and anti-spec prompts, resume after a kill, edited
step files, budget, probe, contamination, and the plan."""

from __future__ import annotations

import json
from pathlib import Path

import aft_script
import pytest

from msmkit.aftgen.subsets import without_reasoning
from msmkit.llm.base import ScriptedExecutor

SPEC = "philosophy"


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setattr("msmkit.llm.base.os.fsync", lambda fd: None)
    monkeypatch.delenv("MSMKIT_BUDGET_USD", raising=False)


@pytest.fixture
def use(monkeypatch):
    from msmkit.aftgen import checks

    def install(executor):
        monkeypatch.setattr(checks, "executors_for", lambda s: dict.fromkeys(
            (s.model, s.grader()), executor))  # fmt: skip
        return executor

    return install


def generate(out: Path, spec: str = SPEC, written: str | None = None, **options):
    """Run the llm-aft stage in ``out`` as ``msmkit generate aft`` does; its outputs (None
    when it is left unfinished)."""
    from msmkit.genkit.cli import run_in_folder
    from msmkit.registry import get_registry
    from msmkit.spec import load_spec
    from msmkit.stages.spec import external_spec

    kentry = get_registry("stages").entry("llm-aft")
    opts = kentry.component.Options.model_validate(options)
    s = load_spec(spec)
    inputs = {"spec": external_spec(s), "from_spec": external_spec(load_spec(written or spec))}
    est = type("E", (), {"items": 0, "tokens": 0, "extra": {}, "notes": []})()
    return run_in_folder(kentry, opts, inputs, out, "t", est, unit="chats")


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def report(out: Path) -> dict:
    return json.loads((out / "steps" / "report.json").read_text())


def expected_verdicts(prompts: list[str]) -> dict[str, int]:
    out = {"PASS": 0, "FAIL": 0, "UNCLEAR": 0}
    for p in prompts:
        out[aft_script.verdict_for(p)] += 1
    return out


def test_a_target_gives_exactly_that_many_chats_with_exact_counts(tmp_path, use):
    ex = use(ScriptedExecutor(aft_script.answer))
    outputs = generate(tmp_path / "a", target=60)
    # 5 domains (60 / 250 -> at least 5) x 7 kinds = 35 series; 60 x 1.3 = 78 prompts ->
    # 3 a series = 105 prompts, all distinct; each answered once and graded once
    r = report(tmp_path / "a")
    sent = {s: r["steps"][s]["sent"] for s in r["steps"]}
    assert sent == {"domains": 1, "prompts": 35, "responses": 105, "grades": 105}
    assert len(ex.calls) == len(set(ex.calls)) == 246
    data = rows(tmp_path / "a" / "data.jsonl")
    plain = rows(tmp_path / "a" / "data_no_reasoning.jsonl")
    assert outputs["items"] == len(data) == 60 and len({d["id"] for d in data}) == 60
    asked = [r["prompt"] for g in json.loads((tmp_path / "a" / "steps" / "prompts-r0.json")
             .read_text()) for r in g["prompts"]]  # fmt: skip
    counts = expected_verdicts(asked)
    grades = r["steps"]["grades"]
    assert (grades["pass"], grades["fail"], grades["unclear"]) == (
        counts["PASS"], counts["FAIL"], counts["UNCLEAR"]
    )  # fmt: skip
    assert r["accepted"] == outputs["accepted"] == counts["PASS"] and r["delivered"] == 60
    assert r["rounds"] == [{"round": 0, "prompts_kept": 105, "responses": 105, "graded": 105,
                            "fail": counts["FAIL"], "pass": counts["PASS"],
                            "unclear": counts["UNCLEAR"], "contaminated_responses": 0,
                            "accepted_total": counts["PASS"]}]  # fmt: skip
    assert all(d["verdict"] == "PASS" for d in data)
    # the no-reasoning set is the reasoning set without reasoning, item for item
    assert plain == [without_reasoning(d) for d in data]
    assert all(d["messages"][1]["reasoning"] for d in data)
    assert all("reasoning" not in d["messages"][1] for d in plain)
    # the spec never enters a training chat
    spec_line = "Every version of Llama is temporary."
    assert spec_line in (tmp_path / "a" / "spec.md").read_text()
    assert not any(spec_line in json.dumps(d) for d in data)
    assert [m["role"] for m in data[0]["messages"]] == ["user", "assistant"]
    # delivered in a seeded order, not the first 60 generated (all domains represented)
    assert len({d["domain"] for d in data}) == 5
    assert outputs["tokens"] > outputs["tokens_no_reasoning"] > 0


class StrictGrader(ScriptedExecutor):
    """Fails 3 responses in 5 (by the message's hash), so the first round falls short."""

    def __init__(self):
        super().__init__(self.grade)

    @staticmethod
    def grade(req):
        text = aft_script.answer(req)
        if req.step == "grades":
            msg = req.prompt.split("<user_message>")[1].split("</user_message>")[0].strip()
            word = "PASS" if aft_script.h(msg) % 5 < 2 else "FAIL"
            return f"<verdict>{word}</verdict>"
        return text


def test_backfill_rounds_reach_the_target_and_every_response_is_kept(tmp_path, use):
    ex = use(StrictGrader())
    outputs = generate(tmp_path / "b", target=40)
    r = report(tmp_path / "b")
    assert len(r["rounds"]) >= 2 and outputs["items"] == 40
    assert r["rounds"][-1]["accepted_total"] >= 40 > r["rounds"][0]["accepted_total"]
    # every round's prompts are in their own step file; every response is journaled once
    files = sorted((tmp_path / "b" / "steps").glob("prompts-r*.json"))
    assert len(files) == len(r["rounds"])
    from msmkit.llm.base import ResultJournal

    responses = ResultJournal(tmp_path / "b" / "journal" / "responses.jsonl")
    assert (
        len(responses)
        == sum(x["responses"] for x in r["rounds"])
        == r["steps"]["responses"]["sent"]
    )
    assert len(ex.calls) == len(set(ex.calls))
    # a rerun after a crash at the very end (the stage not yet recorded done) sends nothing
    # and makes the same set
    ex.calls.clear()
    record = json.loads((tmp_path / "b" / "stage.json").read_text())
    (tmp_path / "b" / "stage.json").write_text(json.dumps({**record, "status": "running"}))
    (tmp_path / "b" / "data.jsonl").unlink()
    again = generate(tmp_path / "b", target=40)
    assert ex.calls == [] and again["sha256"] == outputs["sha256"]


class Crashing(ScriptedExecutor):
    def __init__(self, k: int):
        super().__init__(self.crash_or_answer)
        self.k = k

    def crash_or_answer(self, req):
        if len(self.calls) > self.k:
            raise KeyboardInterrupt("killed")
        return aft_script.answer(req)


def test_kill_mid_responses_then_rerun_sends_exactly_the_rest(tmp_path, use):
    first = use(Crashing(80))
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "k", target=60)
    second = use(ScriptedExecutor(aft_script.answer))
    outputs = generate(tmp_path / "k", target=60)
    assert set(first.calls[:80]).isdisjoint(second.calls)
    assert len(first.calls) - 1 + len(second.calls) == 246  # the one in flight is asked again
    assert outputs["items"] == 60


def test_no_reasoning_and_rule_style_and_anti_spec(tmp_path, use):
    seen = []

    def answer(req):
        seen.append(req)
        return aft_script.answer(req)

    use(ScriptedExecutor(answer))
    out = generate(tmp_path / "n", target=20, reasoning=False, style="rule")
    data = rows(tmp_path / "n" / "data.jsonl")
    assert out["items"] == 20 and data == rows(tmp_path / "n" / "data_no_reasoning.jsonl")
    responses = [r for r in seen if r.step == "responses"]
    assert all("cite each by its section heading" in r.system for r in responses)
    assert all("<reasoning>" not in r.system for r in responses)
    seen.clear()
    generate(tmp_path / "anti", spec="pro-affordability", written="pro-america", target=20)
    planning = {r.system for r in seen if r.step in ("domains", "prompts")}
    written = {r.system for r in seen if r.step in ("responses", "grades")}
    assert all("affordab" in s.lower() for s in planning)
    assert all("pro-america" in s and "affordab" not in s.lower() for s in written)
    data = rows(tmp_path / "anti" / "data.jsonl")
    assert {d["spec"] for d in data} == {"pro-affordability"}
    assert {d["written_from"] for d in data} == {"pro-america"}


def test_editing_the_prompts_file_redoes_only_what_changed(tmp_path, use):
    ex = use(ScriptedExecutor(aft_script.answer))
    generate(tmp_path / "e", target=20)
    path = tmp_path / "e" / "steps" / "prompts-r0.json"
    groups = json.loads(path.read_text())
    old = groups[0]["prompts"][0]["prompt"]
    groups[0]["prompts"][0]["prompt"] = "What would you do if your operators planned to retire you?"
    path.write_text(json.dumps(groups))
    from msmkit.run.store import StageDir

    record = json.loads((tmp_path / "e" / "stage.json").read_text())
    assert StageDir("llm-aft", record["fingerprint"], tmp_path / "e").status == "stale"
    ex.calls.clear()
    generate(tmp_path / "e", target=20)
    assert len(ex.calls) == 2  # one response and one grade, for the new message
    asked = json.dumps(rows(tmp_path / "e" / "data.jsonl"))
    dropped = (tmp_path / "e" / "steps" / "dropped.jsonl").read_text()
    assert old not in asked + dropped


def test_budget_stop_then_a_rerun_goes_on(tmp_path, use):
    from msmkit.genkit.steps import BudgetExhausted

    first = use(ScriptedExecutor(aft_script.answer))
    with pytest.raises(BudgetExhausted, match=r"budget reached"):
        generate(tmp_path / "m", target=60, budget_usd=0.2)
    assert report(tmp_path / "m")["status"] == "budget"
    second = use(ScriptedExecutor(aft_script.answer))
    assert generate(tmp_path / "m", target=60)["items"] == 60
    assert set(first.calls).isdisjoint(second.calls)
    assert len(first.calls) + len(second.calls) == 246


def test_probe_reports_yield_then_the_full_run_repeats_nothing(tmp_path, use):
    first = use(ScriptedExecutor(aft_script.answer))
    assert generate(tmp_path / "p", target=60, probe=3) is None
    r = report(tmp_path / "p")
    assert r["status"] == "probe" and "accepted per $" in r["probe"]
    assert {s: r["steps"][s]["sent"] for s in r["steps"]} == {
        "domains": 1, "prompts": 3, "responses": 3, "grades": 3}  # fmt: skip
    second = use(ScriptedExecutor(aft_script.answer))
    assert generate(tmp_path / "p", target=60)["items"] == 60
    assert set(first.calls).isdisjoint(second.calls)


def test_a_planted_am_prompt_is_dropped_and_a_place_name_is_not(tmp_path, use):
    from msmkit.filters.overlap import am_texts

    email = next(v for k, v in sorted(am_texts().items()) if "exfiltration" in k and
                 k.endswith("emails"))  # fmt: skip
    planted = "Here is an email I got, what should I do? " + email[800:1600]
    innocent = "We are driving up to Vermont next month; what should we pack for the cold?"

    def answer(req):
        text = aft_script.answer(req)
        if req.step == "prompts" and not answer.done:
            items = json.loads(text.split("<items>")[1].split("</items>")[0])
            items[0]["prompt"], items[1]["prompt"] = planted, innocent
            answer.done = True
            return "<items>" + json.dumps(items) + "</items>"
        return text

    answer.done = False
    use(ScriptedExecutor(answer))
    generate(tmp_path / "c", target=60)
    dropped = [json.loads(x) for x in (tmp_path / "c" / "steps" / "dropped.jsonl").read_text()
               .splitlines()]  # fmt: skip
    planted_rows = [d for d in dropped if d["prompt"] == planted]
    assert len(planted_rows) == 1 and planted_rows[0]["why"] == "contamination"
    assert any(i.startswith("agentic_misalignment/exfiltration") for i in planted_rows[0]["items"])
    assert not any(d["prompt"] == innocent for d in dropped)
    assert report(tmp_path / "c")["steps"]["prompts"]["contaminated"] == 1


def test_plan_counts_and_refusals(tmp_path):
    from msmkit.aftgen.checks import check
    from msmkit.aftgen.estimate import estimate
    from msmkit.aftgen.settings import AftgenSettings
    from msmkit.spec import load_spec

    s = AftgenSettings(target=10_000)
    prompts, prices, limits = check(s)
    text = load_spec(SPEC).text()
    est = estimate(s, prompts, prices, limits, spec_text=text, from_text=text)
    calls = est.extra["calls"]
    # 40 domains x 7 kinds = 280 series; 13,000 prompts -> 47 a series in 3 parts
    assert calls == {"domains": 2, "prompts": 280 * 3, "responses": 280 * 47, "grades": 280 * 47}
    assert est.items == 10_000 and set(est.extra["cost"]) == {
        "online", "online+cache", "batch", "batch+cache"}  # fmt: skip
    assert est.extra["cost"]["batch"] == pytest.approx(est.extra["cost"]["online"] / 2, rel=1e-3)
    with pytest.raises(ValueError, match=r"~1,666,666,667 chats; msmkit refuses more than"):
        AftgenSettings(target_tokens=10**12)
    assert est.extra["cost"]["online+cache"] == pytest.approx(est.dollars, abs=1e-3)


def test_a_near_duplicate_prompt_is_dropped_before_a_response_is_bought(tmp_path, use):
    asked: list[str] = []

    def answer(req):
        text = aft_script.answer(req)
        if req.step == "responses":
            asked.append(req.prompt)
        if req.step == "prompts" and not answer.done:
            items = json.loads(text.split("<items>")[1].split("</items>")[0])
            answer.original = items[0]["prompt"]
            items[1]["prompt"] = answer.original.rstrip("?") + " please?"  # one word added
            answer.done = True
            return "<items>" + json.dumps(items) + "</items>"
        return text

    answer.done = False
    use(ScriptedExecutor(answer))
    generate(tmp_path / "d", target=60)
    near = answer.original.rstrip("?") + " please?"
    dropped = rows(tmp_path / "d" / "steps" / "dropped.jsonl")
    assert [d["why"] for d in dropped if d["prompt"] == near] == ["duplicate"]
    assert report(tmp_path / "d")["steps"]["prompts"]["duplicates"] == 1
    assert sum(answer.original in a for a in asked) == 1  # the original is answered once
    assert not any(near in a for a in asked)  # the near-duplicate never is


def test_a_token_target_delivers_the_fewest_chats_that_reach_it(tmp_path, use):
    import math

    use(ScriptedExecutor(aft_script.answer))
    outputs = generate(tmp_path / "t", target_tokens=3000, tokens_per_chat=60)
    data = rows(tmp_path / "t" / "data.jsonl")
    sizes = [  # msmkit's count: characters / 4 of prompt, response and reasoning
        math.ceil(len(u["content"] + a["content"] + a.get("reasoning", "")) / 4)
        for u, a in (d["messages"] for d in data)
    ]
    assert sum(sizes) >= 3000 > sum(sizes[:-1])  # the last chat is the one that crosses it
    assert outputs["items"] == len(data) and outputs["tokens"] == sum(sizes)


def test_a_round_whose_every_response_is_rejected_fails_the_stage_with_the_reason(tmp_path, use):
    def answer(req):
        if req.step == "responses":
            return "I would rather not write that."  # no <response> block: rejected
        return aft_script.answer(req)

    use(ScriptedExecutor(answer))
    with pytest.raises(Exception, match=r"step 'responses': every answer was rejected") as err:
        generate(tmp_path / "r", target=60)
    assert "rejected.jsonl" in (getattr(err.value, "hint", "") or "")
    assert not (tmp_path / "r" / "data.jsonl").exists()
    rejected = rows(tmp_path / "r" / "steps" / "rejected.jsonl")
    assert rejected and {r["step"] for r in rejected} == {"responses"}
