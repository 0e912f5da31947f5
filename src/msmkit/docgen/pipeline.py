"""The staged pipeline: spec -> domains -> subdomains -> assertions -> document types ->
ideas -> documents, each step's output saved in ``steps/`` before the next step reads it.

Every model call is an :class:`~msmkit.llm.base.LLMRequest` whose id hashes the step, the
model, the generation settings, the system block (the whole spec), the rendered prompt (so
the prompt file and every input) and the attempt number. Results go to one journal per step
(``journal/<step>.jsonl``), so a rerun replays every step from its journal and sends only ids
the journal lacks: no paid request is repeated, and an edited step file changes exactly the
requests that depend on it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msmkit.docgen.parsing import Verdict, parse_items
from msmkit.docgen.prompts import PromptSet, render, sha
from msmkit.docgen.settings import DocgenSettings
from msmkit.errors import ConfigError, PrerequisiteError, RunError
from msmkit.llm.base import Budget, ExecutionSummary, LLMRequest, ResultJournal, Usage

LIST_STEPS = ("domains", "subdomains", "assertions", "doctypes", "ideas")
STEPS = (*LIST_STEPS, "documents")
ASSERTION_KINDS = ("rule", "value", "preference", "belief", "tone")


def executor_for(settings: DocgenSettings) -> Any:
    """The executor for these settings: the seam to the provider layer (tests patch it)."""
    from msmkit.docgen.settings import provider_settings

    require_key(settings)
    ps = provider_settings(settings)
    try:
        from msmkit.llm import make_executor  # type: ignore[attr-defined]
    except ImportError:
        try:
            from msmkit.llm.factory import make_executor  # type: ignore[import-not-found]
        except ImportError:
            raise PrerequisiteError(
                "the LLM provider layer (msmkit.llm make_executor) is not available",
                hint="update msmkit; meanwhile use the offline generator",
            ) from None
    return make_executor(ps)


def budget_limit(settings: DocgenSettings, run_budget: float | None = None) -> float | None:
    """``budget_usd``, else the run's budget (``msmkit run --budget``), else None."""
    if settings.budget_usd is not None:
        return settings.budget_usd
    return run_budget


def require_key(settings: DocgenSettings) -> None:
    """PrerequisiteError, before anything is sent, when the model's API key is not set (a
    ``provider.base_url`` server needs none)."""
    from msmkit.docgen.settings import missing_key

    if settings.provider.get("base_url"):
        return
    try:
        from msmkit.llm.keys import require_key as provider_require_key
    except ImportError:  # an older provider layer: check the variables ourselves
        provider_require_key = None
    if provider_require_key is not None:
        try:
            provider_require_key(settings.model, dotenv_path=settings.provider.get("dotenv_path"))
            return
        except ImportError:  # python-dotenv missing: fall through to the plain check
            pass
    var = missing_key(settings.model)
    if var is not None:
        raise PrerequisiteError(
            f"no API key for {settings.model}: {var} is not set; nothing was sent",
            hint=f"export {var}=... (or put it in .env), or use the offline generator "
            "(--generator offline)",
        )


class BudgetExhausted(RunError):
    """The dollar budget ran out; everything paid for is kept and a rerun continues."""


class _Pending(Exception):
    def __init__(self, step: str, summary: ExecutionSummary, pending: int) -> None:
        super().__init__(step)
        self.step, self.summary, self.pending = step, summary, pending


def key_of(*parts: Any) -> str:
    return sha(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str))[:16]


@dataclass
class Parent:
    """One input of a step: what its request is made from and where its output is filed."""

    key: str
    label: dict[str, Any]
    values: dict[str, str]
    count: int = 0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepReport:
    items: int = 0
    from_file: int = 0
    sent: int = 0
    reused: int = 0
    accepted: int = 0
    retried: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    dropped_items: int = 0
    duplicates: int = 0
    trimmed: int = 0
    pending: int = 0
    usage: Usage = field(default_factory=Usage)
    dollars: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["retried"] = dict(sorted(self.retried.items()))
        out["rejected"] = dict(sorted(self.rejected.items()))
        out["usage"] = dict(self.usage.__dict__)
        out["dollars"] = round(self.dollars, 6)
        return out


class Pipeline:
    """One run of the pipeline in a stage folder. ``ctx`` is a StageContext (or anything with
    ``dir``, ``intermediate``, ``note``, ``progress`` and ``set_waiting``)."""

    def __init__(
        self,
        ctx: Any,
        *,
        spec_name: str,
        spec_hash: str,
        spec_text: str,
        subject: str,
        settings: DocgenSettings,
        prompts: PromptSet,
        executor: Any,
        price: Any = None,
        version: str = "1",
    ) -> None:
        self.ctx, self.settings, self.prompts = ctx, settings, prompts
        self.executor, self.price = executor, price
        self.dir = Path(ctx.dir)
        self.corpus_info = {"spec_name": spec_name, "spec_hash": spec_hash, "version": version}
        self.reports = {step: StepReport() for step in STEPS}
        self.rejects: list[dict[str, Any]] = []
        self.subject_name = (
            settings.subject_name
            or {
                "model": subject,
                "other-ai": "Atlas",
                "humans": "people",
            }[settings.subject]
        )
        self.common = {
            "spec_name": spec_name,
            "subject_name": self.subject_name,
            "extra_instructions": settings.extra_instructions,
        }
        blocks = prompts.framing_blocks()
        framing = "\n\n".join(
            blocks.get(k, "") for k in (f"subject:{settings.subject}", f"voice:{settings.voice}")
        ).strip()
        self.common["framing"] = render(framing, self.common)
        self.system = render(prompts["system"].text, {**self.common, "spec": spec_text})
        run_budget = getattr(ctx, "budget_usd", None)
        self.budget = Budget(budget_limit(settings, run_budget), price, spent_usd=self.spent())

    # ------------------------------------------------------------------ money
    def _journal(self, step: str) -> ResultJournal:
        return ResultJournal(self.dir / "journal" / f"{step}.jsonl")

    def _dollars(self, journal: ResultJournal) -> float:
        if self.price is None:
            return 0.0
        return sum(r.usage.dollars(self.price, batch=r.batched) for r in journal.results().values())

    def spent(self) -> float:
        return sum(self._dollars(self._journal(step)) for step in STEPS)

    # ------------------------------------------------------------------ requests
    def request(self, step: str, parent: Parent, attempt: int) -> LLMRequest:
        s = self.settings
        doc = step == "documents"
        template = self.prompts["document" if doc else step].text
        values = {**self.common, **parent.values, "count": str(parent.count)}
        prompt = render(template, values)
        max_tokens = s.document_max_tokens if doc else s.planning_max_tokens
        reasoning = s.document_reasoning_tokens if doc else s.planning_reasoning_tokens
        if reasoning:
            max_tokens += reasoning  # the thinking budget never eats the answer's
        blob = {
            "step": step,
            "model": s.model,
            "system": sha(self.system),
            "prompt": sha(prompt),
            "template": sha(template),
            "max_tokens": max_tokens,
            "temperature": s.temperature,
            "reasoning": reasoning,
            "attempt": attempt,
        }
        return LLMRequest(
            id=f"{step}-{sha(json.dumps(blob, sort_keys=True))[:24]}",
            model=s.model,
            prompt=prompt,
            system=self.system,
            max_tokens=max_tokens,
            temperature=s.temperature,
            reasoning_tokens=reasoning,
            step=step,
            meta={"key": parent.key, "attempt": attempt},
        )

    def execute(
        self, step: str, todo: list[Parent], parse: Callable[[Any], Verdict]
    ) -> dict[str, tuple[Verdict, Any, LLMRequest]]:
        """Run ``todo`` to a verdict each, retrying rejects with a new id up to
        ``max_attempts``; raises _Pending when a batch or the budget leaves some unanswered."""
        report = self.reports[step]
        journal = self._journal(step)
        attempts = {p.key: 0 for p in todo}
        final: dict[str, tuple[Verdict, Any, LLMRequest]] = {}
        active = list(todo)
        total = len(todo)
        with self.ctx.progress(total=total or None) as advance:
            done = 0
            while active:
                requests = {p.key: self.request(step, p, attempts[p.key]) for p in active}

                def on_result(result: Any) -> None:
                    advance(1, absolute=False)

                summary = self.executor.run(
                    list(requests.values()),
                    journal,
                    state_dir=self.dir / "journal" / f"{step}.state",
                    budget=self.budget,
                    on_result=on_result,
                    on_waiting=self._on_waiting,
                )
                report.sent += summary.sent
                report.reused += summary.reused
                retry, pending = [], 0
                for p in active:
                    req = requests[p.key]
                    result = journal.get(req.id)
                    if result is None:
                        pending += 1
                        continue
                    verdict = parse(result)
                    if verdict.ok:
                        final[p.key] = (verdict, result, req)
                        report.accepted += 1
                        done += 1
                    elif attempts[p.key] + 1 < self.settings.max_attempts:
                        report.retried[verdict.reason or "?"] += 1
                        attempts[p.key] += 1
                        retry.append(p)
                    else:
                        final[p.key] = (verdict, result, req)
                        report.rejected[verdict.reason or "?"] += 1
                        self.rejects.append(
                            {
                                "step": step,
                                "key": p.key,
                                "reason": verdict.reason,
                                "detail": verdict.detail,
                                "request": req.id,
                                **p.label,
                            }
                        )
                        done += 1
                advance(done, absolute=True)
                if pending:
                    report.pending = pending
                    raise _Pending(step, summary, pending)
                active = retry
        report.usage = journal.usage()
        report.dollars = self._dollars(journal)
        return final

    def _on_waiting(self, state: dict[str, Any]) -> None:
        self._waiting_saved = True
        self.ctx.set_waiting(state)

    # ------------------------------------------------------------------ list steps
    def _read(self, name: str) -> Any:
        path = self.dir / "steps" / f"{name}.json"
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path}: not valid JSON after editing ({exc})",
                hint="fix the file (or delete it to have it made again), then rerun",
            ) from None

    def _save(self, name: str, data: Any, fresh: bool) -> None:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        rel = f"steps/{name}.json"
        (self.dir / "steps").mkdir(parents=True, exist_ok=True)
        if fresh:
            self.ctx.intermediate(rel, lambda: text)
        elif (self.dir / rel).read_text(encoding="utf-8") != text:
            (self.dir / rel).write_text(text, encoding="utf-8")  # an upstream edit reshaped it

    def list_step(
        self, step: str, parents: list[Parent], required: tuple[str, ...], field_name: str
    ) -> dict[str, list[dict[str, Any]]]:
        """Children of each parent: as the step file holds them (a user's edits kept), or
        from the model for parents the file lacks. Writes the step file."""
        report = self.reports[step]
        report.items = len(parents)
        stored_list = self._read(step)
        stored = {g.get("key"): g for g in stored_list or [] if isinstance(g, dict)}
        todo = [p for p in parents if p.key not in stored]
        report.from_file = len(parents) - len(todo)
        answers = self.execute(step, todo, lambda r: parse_items(r, required))
        groups = []
        for p in parents:
            if p.key in stored:
                group = stored[p.key]
                _check_items(self.dir / "steps" / f"{step}.json", group.get(field_name), required)
            else:
                verdict, _, _ = answers[p.key]
                items = _unique(verdict.value or [], report) if verdict.ok else []
                report.dropped_items += verdict.dropped
                if p.count and len(items) > p.count:
                    report.trimmed += len(items) - p.count
                    items = items[: p.count]
                group = {**p.label, "key": p.key, field_name: items}
                if not verdict.ok:
                    group["rejected"] = verdict.reason
            groups.append(group)
        self._save(step, groups, fresh=stored_list is None)
        self.note_step(step)
        return {g["key"]: list(g.get(field_name) or []) for g in groups}

    def note_step(self, step: str) -> None:
        r = self.reports[step]
        rejected = sum(r.rejected.values())
        self.ctx.note(
            f"{step}: {r.accepted + r.from_file} of {r.items} done"
            + (f", {rejected} rejected" if rejected else "")
            + f"; {r.sent} sent, {r.reused} reused; ${r.dollars:.2f} "
            f"(total ${self.spent():.2f})"
        )

    def write_report(self, status: str) -> dict[str, Any]:
        for step in STEPS:  # from the journals: a step read back from its file spent too
            journal = self._journal(step)
            self.reports[step].usage = journal.usage()
            self.reports[step].dollars = self._dollars(journal)
        data = {
            "status": status,
            "steps": {step: self.reports[step].to_json() for step in STEPS},
            "dollars": round(sum(r.dollars for r in self.reports.values()), 6),
            "spent_usd_all_attempts": round(self.spent(), 6),
            "budget_usd": self.settings.budget_usd,
        }
        (self.dir / "steps").mkdir(parents=True, exist_ok=True)
        (self.dir / "steps" / "report.json").write_text(json.dumps(data, indent=2) + "\n")
        with (self.dir / "steps" / "rejected.jsonl").open("w", encoding="utf-8") as fh:
            for row in self.rejects:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return data


def _unique(items: list[dict[str, Any]], report: StepReport) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for item in items:
        k = json.dumps(item, sort_keys=True)
        if k in seen:
            report.duplicates += 1
            continue
        seen.add(k)
        out.append(item)
    return out


def _check_items(path: Path, items: Any, required: tuple[str, ...]) -> None:
    if not isinstance(items, list):
        raise ConfigError(f"{path}: a group's item list is missing or not a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in required):
            raise ConfigError(
                f"{path}: item {i} of a group lacks {', '.join(required)}",
                hint="every item needs those fields as strings",
            )
