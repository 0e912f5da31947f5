"""The AFT steps in order: :func:`run_all` on an :class:`~msmkit.aftgen.pipeline.AftPipeline`.

domains (asked in parts, each part shown the domains before it) -> rounds of: user prompts
per (domain, kind) series (parts in turn, each shown the series' earlier prompts) ->
near-duplicates and prompts naming an eval item removed before any response is bought ->
responses -> grades -> until the target number (or tokens) of accepted chats is reached.
Round 0 asks for ``target x oversample`` prompts; a later round (backfill) asks for what the
yield so far says is missing. Every result is journaled; rounds are replayed from the
journals, so a rerun reaches the same decisions and sends only what is missing.

Step files: ``steps/domains.json``, ``steps/prompts-r<N>.json`` (each made once, then read
back as a user left it: delete a prompt, and its chat is not made), ``steps/dropped.jsonl``
(duplicates and contaminated prompts, with why) and ``steps/report.json``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from msmkit.aftgen.parsing import parse_grade, parse_response
from msmkit.aftgen.pipeline import AftPipeline
from msmkit.aftgen.prompts import KIND_DESCRIPTIONS
from msmkit.aftgen.settings import PROMPT_KINDS
from msmkit.aftgen.state import Chat, State, chat_tokens
from msmkit.aftgen.write import write_sets
from msmkit.genkit.steps import Parent, ProbeDone, StepFailed, key_of, probe_report

EARLIER_SHOWN = 80
"""At most this many of a series' earlier prompts are listed in a later request."""


def run_all(p: AftPipeline) -> dict[str, Any]:
    """Every step, in order; returns the stage outputs (see ``msmkit.genkit.steps`` for the
    ways a run stops)."""
    return p.guarded(lambda: _run(p))


def _reached(p: AftPipeline, state: State) -> bool:
    s = p.settings
    if s.target_tokens is not None:
        got = sum(chat_tokens(c, reasoning=s.reasoning) for c in state.accepted)
        return got >= s.target_tokens
    return len(state.accepted) >= s.target_chats()


def _missing(p: AftPipeline, state: State) -> int:
    """Accepted chats still missing (from the mean size so far, for a token target)."""
    s = p.settings
    if s.target_tokens is None:
        return max(0, s.target_chats() - len(state.accepted))
    got = sum(chat_tokens(c, reasoning=s.reasoning) for c in state.accepted)
    mean = got / len(state.accepted) if state.accepted else s.tokens_per_chat
    return max(0, math.ceil((s.target_tokens - got) / max(1.0, mean)))


def _run(p: AftPipeline) -> dict[str, Any]:
    s = p.settings
    domains = _domains(p)
    series = [(d, kind) for d in domains for kind in PROMPT_KINDS]
    state = State()
    index = _dedup_index(s)
    check = _contamination(s)
    for r in range(s.max_rounds):
        need = math.ceil(s.target_chats() * s.oversample) if r == 0 else _backfill(p, state)
        if need <= 0:
            break
        chats = _prompts_round(p, r, series, need, state)
        fresh = _filter(p, r, chats, state, index, check)
        _respond_and_grade(p, r, fresh, state, check)
        if _reached(p, state) or p.probe is not None:
            break
    if p.probe is not None:
        _probe_done(p, domains)
    if not _reached(p, state):
        raise StepFailed(
            f"{len(state.accepted):,} accepted chats of {s.target_chats():,} wanted after "
            f"{len(state.rounds)} round(s) ({state.graded:,} graded)",
            hint="everything paid for is kept: rerun with a higher max_rounds (or a lower "
            "target) to go on; steps/report.json has each round's numbers",
        )
    return write_sets(p, state)


def _backfill(p: AftPipeline, state: State) -> int:
    """Prompts a backfill round asks for: the missing chats over the yield so far (accepted
    per kept prompt), plus 10%; at most 4x the first round's ask."""
    missing = _missing(p, state)
    if missing == 0:
        return 0
    got = len(state.accepted) / max(1, len(state.kept))
    cap = 4 * math.ceil(p.settings.target_chats() * p.settings.oversample)
    return min(cap, math.ceil(missing / max(got, 0.05) * 1.1))


# ---------------------------------------------------------------------------- domains
def _domains(p: AftPipeline) -> list[dict[str, Any]]:
    s = p.settings
    count = s.domain_count()
    parts = math.ceil(count / s.domains_per_call)
    sizes = [count // parts + (1 if i < count % parts else 0) for i in range(parts)]
    stored = p._read("domains")
    groups: list[dict[str, Any]] = []
    names: list[str] = []
    for part, size in enumerate(sizes, 1):
        shown = "\n".join(f"- {n}" for n in names)
        if shown:
            shown = "Domains already proposed (propose different ones):\n" + shown
        parent = Parent(
            key_of("domains", part, size, count),
            {"part": part},
            {"earlier_domains": shown},
            size,
        )
        got = p.list_step(
            "domains",
            [parent],
            ("name",),
            "domains",
            stored_list=stored,
            save=False,
            collect=groups,
        )
        names += [str(d["name"]) for d in got.get(parent.key, [])]
        if p.probe is not None:
            break
    p._save("domains", groups, fresh=stored is None)
    seen: set[str] = set()
    out = []
    for group in groups:
        for d in group.get("domains") or []:
            name = str(d["name"]).strip()
            if name.lower() in seen:
                p.reports["domains"].duplicates += 1
                continue
            seen.add(name.lower())
            out.append({"name": name, "description": str(d.get("description", ""))})
    p.note_step("domains")
    if not out:
        p.fail_all_rejected("domains")
    return out


# ---------------------------------------------------------------------------- prompts
def _prompts_round(
    p: AftPipeline, r: int, series: list[tuple[dict, str]], need: int, state: State
) -> list[Chat]:
    """Round ``r``'s prompts: ``need`` spread over the series (all of them in round 0; in a
    backfill round as few as fit, rotating which), each series' count asked in parts."""
    s = p.settings
    if r == 0:
        per = math.ceil(need / len(series))
        chosen = list(range(len(series)))
    else:
        per = min(s.prompts_per_call, max(5, math.ceil(need / len(series))))
        n = min(len(series), math.ceil(need / per))
        start = (r * n) % len(series)
        chosen = [(start + i) % len(series) for i in range(n)]
    parts = math.ceil(per / s.prompts_per_call)
    sizes = [per // parts + (1 if i < per % parts else 0) for i in range(parts)]
    file = f"prompts-r{r}"
    stored = p._read(file)
    groups: list[dict[str, Any]] = []
    chats: list[Chat] = []
    subject = p.spec.subject
    for part, size in enumerate(sizes, 1):
        wave = []
        for i in chosen:
            domain, kind = series[i]
            sid = key_of(domain["name"], kind)
            earlier = state.series_prompts.get(sid, [])[-EARLIER_SHOWN:]
            shown = "\n".join(f"- {e}" for e in earlier)
            if shown:
                shown = "Messages already written for this domain and kind (write different "
                shown += "ones):\n" + "\n".join(f"- {e}" for e in earlier)
            values = {
                "domain": domain["name"],
                "domain_description": domain["description"],
                "kind": kind.replace("_", " "),
                "kind_description": KIND_DESCRIPTIONS[kind].format(subject=subject),
                "earlier_prompts": shown,
            }
            label = {"domain": domain["name"], "kind": kind, "round": r, "part": part}
            wave.append(Parent(key_of("prompts", r, sid, part, size), label, values, size,
                               {"series": sid, "i": i}))  # fmt: skip
        got = p.list_step(
            "prompts", wave, ("prompt",), "prompts", stored_list=stored, save=False, collect=groups
        )
        for parent in wave:
            items = got.get(parent.key)
            if items is None:
                continue
            sid = parent.info["series"]
            for j, item in enumerate(items):
                text = str(item["prompt"]).strip()
                state.series_prompts.setdefault(sid, []).append(text)
                chats.append(
                    Chat(
                        key=key_of("chat", text),
                        prompt=text,
                        domain=parent.label["domain"],
                        kind=parent.label["kind"],
                        round=r,
                        order=(r, parent.info["i"], part, j),
                    )
                )
    p._save(file, groups, fresh=stored is None)
    p.note_step("prompts")
    return sorted(chats, key=lambda c: c.order)


def _dedup_index(s: Any) -> Any:
    from msmkit.filters.dedup import NearDuplicateIndex

    return NearDuplicateIndex(threshold=s.dedup_threshold, shingle_size=2)


def _contamination(s: Any) -> Any:
    if s.contamination == "off":
        return None
    from msmkit.filters.overlap import ChatContamination

    return ChatContamination.installed()


def _filter(
    p: AftPipeline, r: int, chats: list[Chat], state: State, index: Any, check: Any
) -> list[Chat]:
    """Near-duplicates of any earlier prompt (this round's or before) and, unless
    ``contamination: off``, prompts naming an eval item, dropped before responses are bought."""
    report = p.reports["prompts"]
    fresh: list[Chat] = []
    seen = {c.key for c in state.kept}
    for chat in chats:
        duplicate = chat.key in seen
        if not duplicate:
            duplicate = index.add(state.indexed, chat.prompt) is not None
            state.indexed += not duplicate
        if duplicate:
            report.duplicates += 1
            state.dropped.append({"round": r, "prompt": chat.prompt, "why": "duplicate"})
            continue
        seen.add(chat.key)
        hits = check.items_hit(chat.prompt) if check is not None else []
        if hits:
            report.extra["contaminated"] = report.extra.get("contaminated", 0) + 1
            state.dropped.append(
                {"round": r, "prompt": chat.prompt, "why": "contamination", "items": hits}
            )
            if p.settings.contamination == "remove":
                continue
        fresh.append(chat)
    state.kept.extend(fresh)
    return fresh


# ---------------------------------------------------------------------------- responses, grades
def _respond_and_grade(p: AftPipeline, r: int, chats: list[Chat], state: State, check: Any) -> None:
    s = p.settings
    parents = [
        Parent(c.key, {"domain": c.domain, "kind": c.kind, "round": r}, {"user_prompt": c.prompt})
        for c in chats
    ]
    p.reports["responses"].items += len(parents)
    answers = p.execute(
        "responses",
        parents,
        lambda res: parse_response(res, reasoning=s.reasoning),
        require_any=False,
    )
    p.note_step("responses")
    written = []
    for chat in chats:
        if chat.key not in answers:
            continue
        verdict, result, req = answers[chat.key]
        if not verdict.ok:
            continue
        chat.reasoning, chat.response = verdict.value["reasoning"], verdict.value["response"]
        chat.requests["response"] = req.id
        chat.usage["response"] = dict(result.usage.__dict__)
        written.append(chat)
    if chats and not written:
        p.fail_all_rejected("responses")
    g_parents = [
        Parent(
            c.key,
            {"domain": c.domain, "kind": c.kind, "round": r},
            {
                "user_prompt": c.prompt,
                "reasoning": c.reasoning or "(none)",
                "response": c.response,
                "style_criterion": p.style_criterion,
                "criteria": p.criteria,
            },
        )
        for c in written
    ]
    p.reports["grades"].items += len(g_parents)
    grades = p.execute("grades", g_parents, parse_grade, require_any=False)
    p.note_step("grades")
    verdicts: Counter[str] = Counter()
    contaminated = 0
    for chat in written:
        if chat.key not in grades:
            continue
        verdict, result, req = grades[chat.key]
        if not verdict.ok:
            continue
        state.graded += 1
        chat.verdict = verdict.value
        chat.requests["grade"] = req.id
        verdicts[verdict.value] += 1
        if verdict.value == "FAIL" or (verdict.value == "UNCLEAR" and not s.keep_unclear):
            continue
        hits = check.items_hit(f"{chat.reasoning or ''}\n{chat.response}") if check else []
        if hits:
            contaminated += 1
            state.dropped.append(
                {"round": r, "prompt": chat.prompt, "why": "contaminated response", "items": hits}
            )
            if s.contamination == "remove":
                continue
        state.accepted.append(chat)
    if written and not verdicts:
        p.fail_all_rejected("grades")
    report = p.reports["grades"]
    for word, n in verdicts.items():
        report.extra[word.lower()] = report.extra.get(word.lower(), 0) + n
    state.rounds.append(
        {
            "round": r,
            "prompts_kept": len(chats),
            "responses": len(written),
            "graded": sum(verdicts.values()),
            **{w.lower(): n for w, n in sorted(verdicts.items())},
            "contaminated_responses": contaminated,
            "accepted_total": len(state.accepted),
        }
    )
    if len(written) >= 20 and verdicts and not (verdicts["PASS"] or s.keep_unclear):
        raise StepFailed(
            f"round {r}: the grader passed none of {sum(verdicts.values())} responses "
            f"({', '.join(f'{k} {n}' for k, n in sorted(verdicts.items()))})",
            hint="read a few in journal/grades.jsonl; check the style, the criteria and the "
            "grader model, then rerun",
        )


def _probe_done(p: AftPipeline, domains: list[dict[str, Any]]) -> None:
    from msmkit.aftgen.estimate import planned_calls

    text = probe_report(p, planned_calls(p.settings, len(domains)))
    p.write_report("probe", probe=text)
    raise ProbeDone(f"probe of {p.probe} request(s) a step done: {text}")
