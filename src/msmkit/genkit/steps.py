"""The step engine of the LLM generators: requests with stable ids, one journal per step,
retries of rejected answers, reports, and what stops a run.

Every model call is an :class:`~msmkit.llm.base.LLMRequest` whose id hashes the step, the
model, the generation settings, the system block, the rendered prompt (so the prompt file and
every input) and the attempt number. Results go to ``journal/<step>.jsonl``, so a rerun
replays every step from its journal and sends only ids the journal lacks: no paid request is
repeated, and an edited step file changes exactly the requests that depend on it.

A run stops, after writing ``steps/report.json``, when:

* a batch is still with the provider (:class:`Pending`, the stage is left *waiting*);
* the budget is spent (:class:`BudgetExhausted`; everything paid for is kept);
* requests failed at the provider after the executor's retries (:class:`StepFailed`, with the
  provider's error; nothing failed was journaled, so a rerun asks again);
* every answer of a step was rejected (:class:`StepFailed`, with the reasons counted);
* a probe (``probe: N``) has sent the first N requests of each step (:class:`ProbeDone`,
  with the yield per dollar).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError, RunError
from msmkit.genkit.parsing import Verdict, parse_items
from msmkit.hashing import sha256_text as sha
from msmkit.llm.base import Budget, ExecutionSummary, LLMRequest, ResultJournal, Usage
from msmkit.stagekit import StillWaiting


class BudgetExhausted(RunError):
    """The dollar budget ran out; everything paid for is kept and a rerun continues."""


class StepFailed(RunError):
    """Requests failed at the provider, or every answer of a step was rejected."""


class ProbeDone(StillWaiting):
    """A probe sent the first requests of each step; the stage is left unfinished."""


class Pending(Exception):
    """Some requests of a step are not answered yet (a batch out, or the budget spent)."""

    def __init__(self, step: str, summary: ExecutionSummary, pending: int) -> None:
        super().__init__(step)
        self.step, self.summary, self.pending = step, summary, pending


_Pending = Pending  # the name docgen used


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
    failed: int = 0
    truncated: int = 0  # answers that hit max_tokens (retried or rejected)
    reasoning_truncated: int = 0  # of those, with no visible text: reasoning used it all
    usage: Usage = field(default_factory=Usage)
    dollars: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["retried"] = dict(sorted(self.retried.items()))
        out["rejected"] = dict(sorted(self.rejected.items()))
        out["usage"] = dict(self.usage.__dict__)
        out["dollars"] = round(self.dollars, 6)
        extra = out.pop("extra")
        out.update(extra)
        return out


Answer = tuple[Verdict, Any, LLMRequest]


class StepPipeline:
    """One run of a generator's steps in a stage folder.

    ``ctx`` is a StageContext (or anything with ``dir``, ``intermediate``, ``note``,
    ``progress``, ``set_waiting`` and ``budget_usd``). Subclasses set ``steps`` and say how a
    step's request is made (:meth:`template`, :meth:`system_for`, :meth:`tokens_for`,
    :meth:`model_for`). ``executors`` maps a model to its executor; ``prices`` a model to its
    price (the first model's price is the budget's default).
    """

    steps: tuple[str, ...] = ()

    def __init__(
        self,
        ctx: Any,
        *,
        settings: Any,
        prompts: Any,
        executors: dict[str, Any],
        prices: dict[str, Any],
        budget_usd: float | None = None,
        probe: int | None = None,
        max_attempts: int = 3,
        temperature: float | None = None,
    ) -> None:
        self.ctx, self.settings, self.prompts = ctx, settings, prompts
        self.executors, self.prices = executors, prices
        self.dir = Path(ctx.dir)
        self.probe = probe
        self.max_attempts = max_attempts
        self.temperature = temperature
        self.reports = {step: StepReport() for step in self.steps}
        self.rejects: list[dict[str, Any]] = []
        self.common: dict[str, str] = {}
        limit = budget_usd if budget_usd is not None else getattr(ctx, "budget_usd", None)
        first = next(iter(prices.values()), None)
        self.budget = Budget(limit, first, spent_usd=self.spent(), prices=dict(prices))
        self._waiting_saved = False

    # ------------------------------------------------------------------ hooks
    def template(self, step: str) -> str:
        """The prompt file text a step's requests render."""
        return self.prompts[step].text

    def system_for(self, step: str, parent: Parent) -> str:
        raise NotImplementedError

    def tokens_for(self, step: str) -> tuple[int, int | None]:
        """``(max_tokens, reasoning_tokens)`` of a step's requests; the reasoning budget is
        added on top of the answer's, never taken from it."""
        raise NotImplementedError

    def model_for(self, step: str) -> str:
        return next(iter(self.executors))

    # ------------------------------------------------------------------ money
    def _journal(self, step: str) -> ResultJournal:
        return ResultJournal(self.dir / "journal" / f"{step}.jsonl")

    def _dollars(self, journal: ResultJournal) -> float:
        total = 0.0
        first = next(iter(self.prices.values()), None)
        for r in journal.results().values():
            price = self.prices.get(r.model, first)
            if price is not None:
                total += r.usage.dollars(price, batch=r.batched)
        return total

    def spent(self) -> float:
        return sum(self._dollars(self._journal(step)) for step in self.steps)

    # ------------------------------------------------------------------ requests
    def request(self, step: str, parent: Parent, attempt: int) -> LLMRequest:
        from msmkit.genkit.prompts import render

        template = self.template(step)
        values = {**self.common, **parent.values, "count": str(parent.count)}
        prompt = render(template, values)
        system = self.system_for(step, parent)
        max_tokens, reasoning = self.tokens_for(step)
        model = self.model_for(step)
        blob = {
            "step": step,
            "model": model,
            "system": sha(system),
            "prompt": sha(prompt),
            "template": sha(template),
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "reasoning": reasoning,
            "attempt": attempt,
        }
        return LLMRequest(
            id=f"{step}-{sha(json.dumps(blob, sort_keys=True))[:24]}",
            model=model,
            prompt=prompt,
            system=system,
            max_tokens=max_tokens,
            temperature=self.temperature,
            reasoning_tokens=reasoning,
            step=step,
            meta={"key": parent.key, "attempt": attempt},
        )

    def execute(
        self,
        step: str,
        todo: Sequence[Parent],
        parse: Callable[[Any], Verdict],
        *,
        require_any: bool = True,
    ) -> dict[str, Answer]:
        """Run ``todo`` to a verdict each, retrying rejects with a new id up to
        ``max_attempts``. Raises Pending (a batch or the budget left some unanswered),
        StepFailed (requests failed at the provider; or, with ``require_any``, every answer
        was rejected)."""
        report = self.reports[step]
        journal = self._journal(step)
        if self.probe is not None:
            todo = list(todo)[: self.probe]
        attempts = {p.key: 0 for p in todo}
        final: dict[str, Answer] = {}
        active = list(todo)
        executor = self.executors[self.model_for(step)]
        with self.ctx.progress(total=len(todo) or None) as advance:
            done = 0
            while active:
                requests = {p.key: self.request(step, p, attempts[p.key]) for p in active}

                def on_result(result: Any) -> None:
                    advance(1, absolute=False)

                summary = executor.run(
                    list(requests.values()),
                    journal,
                    state_dir=self.dir / "journal" / f"{step}.state",
                    budget=self.budget,
                    on_result=on_result,
                    on_waiting=self._on_waiting,
                )
                report.sent += summary.sent
                report.reused += summary.reused
                retry, pending, failed = [], 0, []
                for p in active:
                    req = requests[p.key]
                    result = journal.get(req.id)
                    if result is None:
                        if req.id in summary.errors:
                            failed.append(summary.errors[req.id])
                        else:
                            pending += 1
                        continue
                    verdict = parse(result)
                    if verdict.reason == "truncated":
                        report.truncated += 1
                        report.reasoning_truncated += "reasoning_truncated" in verdict.notes
                    if verdict.ok:
                        final[p.key] = (verdict, result, req)
                        report.accepted += 1
                        done += 1
                    elif attempts[p.key] + 1 < self.max_attempts:
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
                if failed:
                    report.failed += len(failed)
                    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
                    raise StepFailed(
                        f"{len(failed)} request(s) of step '{step}' failed at the provider: "
                        f"{failed[0]}{more}",
                        hint="nothing that failed was saved or reused; answered requests are "
                        "kept, so rerunning the same command asks only for the rest",
                    )
                if pending:
                    report.pending = pending
                    raise Pending(step, summary, pending)
                active = retry
        report.usage = journal.usage()
        report.dollars = self._dollars(journal)
        if require_any and todo and not any(v.ok for v, _, _ in final.values()):
            self.fail_all_rejected(step)
        return final

    def fail_all_rejected(self, step: str) -> None:
        report = self.reports[step]
        reasons = ", ".join(f"{k} {n}" for k, n in sorted(report.rejected.items()))
        raise StepFailed(
            f"step '{step}': every answer was rejected ({reasons or 'none accepted'}); "
            "nothing to go on with",
            hint="see steps/rejected.jsonl for why; change the prompts (prompts_dir), the "
            "model or max_attempts, then rerun",
        )

    def _on_waiting(self, state: dict[str, Any]) -> None:
        self._waiting_saved = True
        self.ctx.set_waiting(state)

    # ------------------------------------------------------------------ step files
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
        self,
        step: str,
        parents: list[Parent],
        required: tuple[str, ...],
        field_name: str,
        *,
        file: str | None = None,
        stored_list: Any = None,
        save: bool = True,
        collect: list[dict[str, Any]] | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """Children of each parent: as the step file holds them (a user's edits kept), or
        from the model for parents the file lacks. Writes the step file (``file``, default
        the step's name) unless ``save`` is False; ``collect`` receives the groups."""
        file = file or step
        report = self.reports[step]
        report.items += len(parents)
        if stored_list is None:
            stored_list = self._read(file)
        stored = {g.get("key"): g for g in stored_list or [] if isinstance(g, dict)}
        todo = [p for p in parents if p.key not in stored]
        report.from_file += len(parents) - len(todo)
        answers = self.execute(step, todo, lambda r: parse_items(r, required))
        groups = []
        for p in parents:
            if p.key in stored:
                group = stored[p.key]
                _check_items(self.dir / "steps" / f"{file}.json", group.get(field_name), required)
            elif p.key in answers:
                verdict, _, _ = answers[p.key]
                items = unique(verdict.value or [], report) if verdict.ok else []
                report.dropped_items += verdict.dropped
                if p.count and len(items) > p.count:
                    report.trimmed += len(items) - p.count
                    items = items[: p.count]
                group = {**p.label, "key": p.key, field_name: items}
                if not verdict.ok:
                    group["rejected"] = verdict.reason
            else:  # left out by a probe
                continue
            groups.append(group)
        if collect is not None:
            collect.extend(groups)
        if save:
            self._save(file, groups, fresh=stored_list is None)
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

    def report_data(self, status: str) -> dict[str, Any]:
        for step in self.steps:  # from the journals: a step read back from its file spent too
            journal = self._journal(step)
            self.reports[step].usage = journal.usage()
            self.reports[step].dollars = self._dollars(journal)
        return {
            "status": status,
            "steps": {step: self.reports[step].to_json() for step in self.steps},
            "dollars": round(sum(r.dollars for r in self.reports.values()), 6),
            "spent_usd_all_attempts": round(self.spent(), 6),
            "budget_usd": self.budget.limit_usd,
        }

    def write_report(self, status: str, **extra: Any) -> dict[str, Any]:
        data = {**self.report_data(status), **extra}
        (self.dir / "steps").mkdir(parents=True, exist_ok=True)
        (self.dir / "steps" / "report.json").write_text(json.dumps(data, indent=2) + "\n")
        with (self.dir / "steps" / "rejected.jsonl").open("w", encoding="utf-8") as fh:
            for row in self.rejects:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return data

    # ------------------------------------------------------------------ stopping
    def guarded(self, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``run()``, turning a stop into the report and the right exception (see the
        module docstring)."""
        try:
            return run()
        except Pending as exc:
            budget = exc.summary.stopped_by_budget
            self.write_report("budget" if budget else "waiting")
            if budget:
                raise BudgetExhausted(
                    f"budget reached: spent ${self.budget.spent_usd:.2f} of "
                    f"${self.budget.limit_usd:.2f}; {exc.pending} request(s) of step "
                    f"'{exc.step}' not sent",
                    hint="everything paid for is kept: rerun with a higher budget_usd "
                    "(--budget) to continue",
                ) from None
            if not self._waiting_saved:
                self.ctx.set_waiting({"step": exc.step, "pending": exc.pending})
            raise StillWaiting(
                f"{exc.pending} request(s) of step '{exc.step}' are with the provider; "
                "rerun to collect them"
            ) from None
        except StepFailed:
            self.write_report("failed")
            raise
        except ProbeDone:
            raise


def unique(items: list[dict[str, Any]], report: StepReport) -> list[dict[str, Any]]:
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


_unique = unique


def _check_items(path: Path, items: Any, required: tuple[str, ...]) -> None:
    if not isinstance(items, list):
        raise ConfigError(f"{path}: a group's item list is missing or not a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in required):
            raise ConfigError(
                f"{path}: item {i} of a group lacks {', '.join(required)}",
                hint="every item needs those fields as strings",
            )


def probe_report(p: StepPipeline, planned: dict[str, int]) -> str:
    """The probe's yield per step (accepted items per dollar) and the full run's dollars
    projected from the probed calls' average cost."""
    lines = []
    total = 0.0
    for step in p.steps:
        r = p.reports[step]
        calls = r.sent + r.reused
        if not calls:
            continue
        per_call = r.dollars / calls if calls else 0.0
        projected = per_call * planned.get(step, calls)
        total += projected
        per_dollar = f"{r.accepted / r.dollars:,.1f} accepted per $" if r.dollars else "free"
        lines.append(
            f"{step}: {r.accepted} of {calls} accepted, ${r.dollars:.4f} ({per_dollar}); "
            f"{planned.get(step, calls):,} calls planned -> ~${projected:,.2f}"
        )
    lines.append(f"projected total ~${total:,.2f}")
    return "; ".join(lines)
