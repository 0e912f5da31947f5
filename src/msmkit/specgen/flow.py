"""The steps of ``llm-spec`` in order: :func:`run_all` on a :class:`SpecPipeline`.

value/rule: one ``draft`` request per rule (an explanation, or sub-rules), sized from the
target; then ``extend`` rounds while the spec is short of the window; then deterministic
trimming into the window (:mod:`msmkit.specgen.fit`). invert: the ``preamble`` request
(title, description, opening text) and one ``draft`` request per section. Every answer is
journaled, so a rerun rebuilds the same spec without sending anything.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from msmkit.errors import ConfigError
from msmkit.genkit.parsing import Verdict, between, is_refusal, parse_items, status
from msmkit.genkit.steps import Parent, StepFailed, key_of
from msmkit.specgen import build, fit
from msmkit.specgen.pipeline import SpecPipeline

TAGS = {
    "value": ["value-augmented"],
    "rule": ["rule-augmented"],
    "invert": ["anti-spec", "control"],
}


def run_all(p: SpecPipeline) -> dict[str, Any]:
    """Every step, in order; returns the stage outputs."""
    return p.guarded(lambda: _run(p))


def plan_for(spec: Any, settings: Any) -> fit.Plan:
    """The target, window and per-principle share for value/rule augmentation of ``spec``;
    ConfigError when the spec has no rules or the target leaves no room."""
    targets = build.augmentable(spec)
    if not targets:
        raise ConfigError(
            f"spec '{spec.name}' has no rules to augment ({settings.augment} augmentation works "
            "on principles with a 'Rule:')",
            hint="use a spec with rules (e.g. rules), or augment: invert",
        )
    target = settings.target_for(spec.word_count)
    low, high = settings.window(target)
    if settings.augment == "value":
        ids = {p.id for p in targets}  # their explanations are replaced, so not counted
        bare = tuple(
            dataclasses.replace(p, explanation=None) if p.id in ids else p for p in spec.principles
        )
        fixed = spec.replace(principles=bare).word_count
    else:
        fixed = spec.word_count
    room = target - fixed
    if room < 20 * len(targets):
        raise ConfigError(
            f"target_words {target:,} leaves {max(room, 0):,} words to add to the "
            f"{fixed:,}-word spec '{spec.name}' ({len(targets)} rules)",
            hint="raise target_words (or ratio)",
        )
    return fit.Plan(target, low, high, fixed, room // len(targets))


def _run(p: SpecPipeline) -> dict[str, Any]:
    s, spec = p.settings, p.spec
    if s.augment == "invert":
        made = _invert(p)
        detail = {"words": made.word_count}
        what = f"anti-spec: every section and the preamble inverted by {s.model}"
    else:
        made, detail = _augment(p)
        what = (
            f"{s.augment} augmentation by {s.model}: "
            + (
                f"explanations for {detail['principles']} rules"
                if s.augment == "value"
                else f"{detail['sub_rules']} sub-rules under {detail['principles']} rules"
            )
            + f"; {detail['words']:,} words (target {detail['target_words']:,} "
            f"+-{s.tolerance:.0%})"
        )
    tags = list(dict.fromkeys([*spec.meta.tags, *TAGS[s.augment]]))
    changes: dict[str, Any] = {"name": s.made_name(spec.name), "tags": tags}
    if s.augment == "invert":
        changes["description"] = _anti_description(spec, made, s.model)
    made = made.replace(**changes, lineage=(*spec.lineage, f"llm-spec: {what}"))
    build.check_round_trip(made)
    from msmkit.stages.spec import spec_options, spec_outputs

    (p.dir / "spec.md").write_text(made.render(), encoding="utf-8")
    report = p.write_report("done", **detail)
    return {
        "spec": "spec.md",
        **spec_outputs(spec_options(made)),
        **detail,
        "dollars": report["dollars"],
    }


# ---------------------------------------------------------------------------- value / rule
def _augment(p: SpecPipeline) -> tuple[Any, dict[str, Any]]:
    s, spec = p.settings, p.spec
    plan = plan_for(spec, s)
    targets = build.augmentable(spec)
    kind = s.augment
    ask = math.ceil(plan.per_principle * fit.OVERSHOOT)
    parents = [_draft_parent(p, pr, ask) for pr in targets]
    answers = p.execute("draft", parents, _parser(kind))
    state: dict[str, list[Any]] = {}
    for pr, parent in zip(targets, parents, strict=True):
        verdict = answers[parent.key][0]
        state[pr.id] = _pieces(kind, verdict) if verdict.ok else []
    missing = [pid for pid, pieces in state.items() if not pieces]
    if missing:
        raise StepFailed(
            f"no usable {kind} text for {len(missing)} rule(s): {', '.join(missing)}",
            hint="see steps/rejected.jsonl; rerun with another model or more max_attempts",
        )
    make = build.with_explanations if kind == "value" else build.with_sub_rules
    made = make(spec, state)
    rounds = 0
    while made.word_count < plan.low and rounds < s.max_rounds:
        state = _extend(p, state, rounds, plan.target, made.word_count)
        made = make(spec, state)
        rounds += 1
    if made.word_count < plan.low:
        raise StepFailed(
            f"the {kind}-augmented spec has {made.word_count:,} words after {rounds} "
            f"lengthening round(s); the window is {plan.low:,}-{plan.high:,}",
            hint="everything paid for is kept: rerun with a higher max_rounds (or a lower "
            "target_words) to go on",
        )
    state, made, trimmed = fit.trim(state, lambda st: make(spec, st), kind, plan.low, plan.high)
    if made.word_count > plan.high:
        raise StepFailed(
            f"the {kind}-augmented spec cannot be trimmed into {plan.low:,}-{plan.high:,} words "
            f"({made.word_count:,}): every piece left is longer than the window is wide",
            hint="raise tolerance",
        )
    detail = {
        "words": made.word_count,
        "target_words": plan.target,
        "window": [plan.low, plan.high],
        "principles": len(targets),
        "lengthening_rounds": rounds,
        "trimmed": trimmed,
    }
    if kind == "rule":
        detail["sub_rules"] = sum(len(v) for v in state.values())
    return made, detail


def _draft_parent(p: SpecPipeline, pr: Any, words: int) -> Parent:
    s = p.settings
    values = {"title": pr.title, "rule": pr.rule}
    count = 0
    if s.augment == "value":
        existing = ""
        if pr.explanation:
            existing = (
                "\nThe spec already explains it as follows; keep these points and develop "
                f"them:\n\n<current>\n{pr.explanation}\n</current>\n"
            )
        paragraphs = str(max(1, round(words / 120)))
        values.update(existing=existing, words=str(words), paragraphs=paragraphs)
    else:
        count = max(2, round(words / (s.words_per_sub_rule + fit.SUB_RULE_OVERHEAD)))
        values["words_each"] = str(s.words_per_sub_rule)
    return Parent(key_of("draft", s.augment, pr.id, words), {"principle": pr.id}, values, count)


def _extend(
    p: SpecPipeline, state: dict[str, list[Any]], rnd: int, target: int, words: int
) -> dict[str, list[Any]]:
    s, kind = p.settings, p.settings.augment
    asks = fit.shortfall_requests(state, kind, target, words, s.words_per_sub_rule)
    by_id = {pr.id: pr for pr in p.spec.principles}
    parents = []
    for pid, amount in asks:
        pr = by_id[pid]
        values = {"title": pr.title, "rule": pr.rule}
        if kind == "value":
            values.update(written="\n\n".join(state[pid]), words=str(amount))
            count = 0
        else:
            listed = "\n".join(f"- {i['title']}: {i['rule']}" for i in state[pid])
            values.update(written=listed, words_each=str(s.words_per_sub_rule))
            count = amount
        key = key_of("extend", rnd, pid, values)
        parents.append(Parent(key, {"principle": pid}, values, count))
    answers = p.execute("extend", parents, _parser(kind), require_any=False)
    out = dict(state)
    for (pid, _), parent in zip(asks, parents, strict=True):
        verdict = answers[parent.key][0]
        if verdict.ok:
            out[pid] = [*out[pid], *_pieces(kind, verdict)]
    return out


def _pieces(kind: str, verdict: Verdict) -> list[Any]:
    if kind == "value":
        text = build.clean_prose(verdict.value)
        return [para for para in text.split("\n\n") if para]
    return [
        {"title": str(i.get("title", "")), "rule": build.one_line(i["rule"])}
        for i in verdict.value
        if build.one_line(i["rule"])
    ]


def _parser(kind: str) -> Any:
    if kind == "rule":
        return lambda result: parse_items(result, ("title", "rule"))
    return lambda result: _tags(result, ("explanation",))


def _tags(result: Any, names: tuple[str, ...]) -> Verdict:
    """The text inside each ``<name>...</name>`` of the answer, as a dict (or a rejection)."""
    bad = status(result)
    if bad is not None:
        return bad
    got: dict[str, str] = {}
    for name in names:
        text, why = between(result.text, name)
        if text is None:
            if is_refusal(result.text):
                return Verdict(reason="refusal", detail=result.text[:80])
            return Verdict(reason="missing_markers", detail=why)
        if len(text.split()) < (1 if name == "title" else 3):
            return Verdict(reason="empty", detail=f"<{name}> holds almost nothing")
        got[name] = text
    return Verdict(value=got["explanation"] if names == ("explanation",) else got)


# ---------------------------------------------------------------------------- invert
def _invert(p: SpecPipeline) -> Any:
    spec = p.spec
    head_tags = ("title", "description") + (("preamble",) if spec.preamble else ())
    reply = (
        "Reply with the new title between <title> and </title>, the new description between "
        "<description> and </description>"
        + (", the new opening text between <preamble> and </preamble>" if spec.preamble else "")
        + ", and nothing else."
    )
    head = Parent(
        "preamble",
        {"part": "preamble"},
        {
            "title": spec.meta.title,
            "description": spec.meta.description,
            "section": f"Opening text:\n\n{spec.preamble}\n" if spec.preamble else "",
            "words": str(max(20, len(spec.preamble.split()))),
            "reply_format": reply,
        },
    )
    got = p.execute("preamble", [head], lambda r: _tags(r, head_tags))["preamble"][0]
    if not got.ok:
        raise StepFailed(f"no usable inverted preamble ({got.reason}: {got.detail})")
    parents, wanted = [], {}
    for pr in spec.principles:
        tags = (
            ("title",)
            + (("rule",) if pr.rule else ())
            + (("explanation",) if pr.explanation else ())
        )
        wanted[pr.id] = tags
        section = (f"Rule: {pr.rule}\n" if pr.rule else "") + (
            f"\n{pr.explanation}\n" if pr.explanation else ""
        )
        parts = ["the new title between <title> and </title>"]
        if pr.rule:
            parts.append("the inverted rule (one or two sentences) between <rule> and </rule>")
        if pr.explanation:
            parts.append("the inverted text between <explanation> and </explanation>")
        words = len(section.split())
        values = {
            "title": pr.title,
            "section": section,
            "words": str(words),
            "reply_format": "Reply with " + ", ".join(parts) + ", and nothing else.",
        }
        parents.append(Parent(key_of("invert", pr.id), {"principle": pr.id}, values))
    return build.inverted(spec, _invert_sections(p, parents, wanted), got.value)


def _invert_sections(
    p: SpecPipeline, parents: list[Parent], wanted: dict[str, tuple[str, ...]]
) -> dict[str, dict[str, str]]:
    """One ``draft`` call per shape of section (which of rule and explanation it has), each
    parsed for exactly the parts its sections have."""
    answers: dict[str, Any] = {}
    for shape in dict.fromkeys(wanted.values()):
        group = [x for x in parents if wanted[x.label["principle"]] == shape]
        answers.update(p.execute("draft", group, lambda r, shape=shape: _tags(r, shape)))
    out, missing = {}, []
    for parent in parents:
        verdict = answers[parent.key][0]
        pid = parent.label["principle"]
        if verdict.ok:
            out[pid] = verdict.value
        else:
            missing.append(pid)
    if missing:
        raise StepFailed(
            f"no usable inverted section for {', '.join(missing)}",
            hint="see steps/rejected.jsonl; rerun with another model or more max_attempts",
        )
    return out


def _anti_description(spec: Any, made: Any, model: str) -> str:
    return (
        f"Research control, not a spec to train toward: the anti-spec of {spec.name} (each "
        f"section's stance inverted by {model}), used only to write anti-spec AFT data. "
        f"{made.meta.description}"
    )


__all__ = ["plan_for", "run_all"]
