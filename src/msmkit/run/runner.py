"""Executing stages: each under its lock, skipped when done, resumed when waiting.

States of a stage in the store: *done* (skipped), *waiting* (external work was submitted:
the kind is called again to collect it, never to resubmit), *stale* (an intermediate file was
edited since it finished: it runs again, keeping the edited files), *corrupt* (its files are
no longer what it wrote: set aside and recomputed, saying why), and anything else (*running*
from a process that died, *failed*, or nothing yet): it runs, with a half-written folder set
aside first unless the kind can continue one (``resumable``).

:func:`run_stage` runs one stage anywhere (a store folder, or the folder of ``msmkit generate
docs -o``); :func:`execute` runs a graph's stages in order; :func:`control` repeats it while
stages wait on an executor that *detaches* (a cluster's: it submits a job and returns at
once), so every stage whose inputs are done is out at the same time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from msmkit.errors import MsmkitError, RunError
from msmkit.registry import Entry
from msmkit.run.store import StageDir
from msmkit.stagekit import StageContext, StillWaiting, Upstream


@dataclass
class Outcome:
    statuses: dict[str, str] = field(default_factory=dict)  # id -> done/waiting/failed/blocked
    computed: list[str] = field(default_factory=list)  # node ids this process ran
    waiting: dict[str, str] = field(default_factory=dict)  # node id -> message
    failed: dict[str, MsmkitError] = field(default_factory=dict)  # node id -> its error

    @property
    def complete(self) -> bool:
        return all(s == "done" for s in self.statuses.values())


def upstream_of(node: Any) -> dict[str, Upstream]:
    """The filled slots of a node whose inputs are all done."""
    out: dict[str, Upstream] = {}
    for slot, value in node.slots.items():
        if isinstance(value, Upstream):
            out[slot] = value
        else:
            out[slot] = Upstream(
                value.kind.produces, value.content_key(), value.stage.outputs(), value.stage.dir
            )
    return out


@dataclass
class StageJob:
    """Everything needed to run one stage: what it is and where it goes."""

    entry: Entry
    options: BaseModel
    inputs: dict[str, Upstream]
    slot_keys: dict[str, str]
    stage: StageDir
    label: str
    arms: list[str] = field(default_factory=list)
    executor: tuple[Any, Any] | None = None  # (executor, its options): run elsewhere
    estimate: Any = None  # the node's Estimate (an executor sizes the job's resources by it)

    @property
    def kind(self) -> Any:
        return self.entry.component

    @property
    def id(self) -> str:
        return self.stage.name


@dataclass(frozen=True)
class StageResult:
    status: str  # done or waiting (failures are raised)
    computed: bool = False  # this process ran it (else it was done already)
    message: str | None = None  # what a waiting stage waits for


def run_stage(
    job: StageJob,
    *,
    run: str,
    ui: Any,
    wait: bool = True,
    budget_usd: float | None = None,
) -> StageResult:
    """Run one stage under its lock unless it is done; failures are raised."""
    sd = job.stage
    if sd.status == "done":
        ui.skipped(job)
        return StageResult("done")
    with sd.lock(run=run, wait=wait, on_wait=lambda holder: ui.held(job, holder)):
        status = sd.status  # again, under the lock: another process may have finished it
        if status == "done":
            ui.skipped(job)
            return StageResult("done")
        keep = (*sd.record().get("intermediates", {}), *getattr(job.kind, "keep_on_redo", ()))
        if status == "stale":
            sd.set_aside(keep=keep)
        elif status == "corrupt":
            problems = "; ".join(sd.problems()[:3])
            aside = sd.set_aside(keep=keep)
            ui.note(
                f"[yellow]{job.label}: its files changed since it finished ({problems}); "
                f"recomputing{f' (old files in {aside})' if aside else ''}[/]"
            )
        elif status in ("running", "failed", "todo") and not job.kind.resumable:
            aside = sd.set_aside(keep=keep)
            if aside is not None:
                ui.note(f"[yellow]{job.label}: a half-written attempt was set aside ({aside})[/]")
        elif status == "waiting":
            ui.note(f"{job.label}: collecting work submitted earlier")
        sd.start(job.options.model_dump(mode="json"), job.slot_keys, run)
        ctx = StageContext(
            dir=sd.dir,
            options=job.options,
            inputs=job.inputs,
            stage=sd,
            label=job.label,
            arms=job.arms,
            reporter=ui if not getattr(ui, "quiet", False) else None,
            budget_usd=budget_usd,
            run=run,
        )
        try:
            outputs = job.kind.run(ctx) if job.executor is None else run_elsewhere(job, ctx)
        except StillWaiting as exc:
            ui.waiting(job, str(exc))
            return StageResult("waiting", message=str(exc))
        except MsmkitError as exc:
            sd.fail(f"{type(exc).__name__}: {exc}")
            raise
        except Exception as exc:  # a bug in the kind: one short error naming it
            sd.fail(f"{type(exc).__name__}: {exc}")
            raise job.entry.error("running", exc) from exc
        except BaseException as exc:  # KeyboardInterrupt and friends: record, then go
            sd.fail(f"{type(exc).__name__}: {exc}")
            raise
        if not isinstance(outputs, dict):
            err = job.entry.error("running", TypeError(f"run() returned {outputs!r}, not a dict"))
            sd.fail(str(err))
            raise err
        try:
            executor_scratch = getattr(job.executor[0], "scratch", ()) if job.executor else ()
            sd.finish(outputs, scratch=(*getattr(job.kind, "scratch", ()), *executor_scratch))
        except MsmkitError as exc:
            sd.fail(f"{type(exc).__name__}: {exc}")
            raise
        ui.finished(job)
        return StageResult("done", computed=True)


def run_elsewhere(job: StageJob, ctx: StageContext) -> dict[str, Any]:
    """Run the stage through its executor (``python -m msmkit.run.worker``), which may
    save a job id with ``ctx.set_waiting`` and raise StillWaiting; returns its outputs."""
    from msmkit.executors import Job
    from msmkit.files import read_json
    from msmkit.run.worker import MODULE, RESULT, stage_payload

    executor, options = job.executor  # type: ignore[misc]
    result = job.stage.dir / RESULT
    if ctx.waiting_state() is None:
        result.unlink(missing_ok=True)  # a new attempt: never read an old attempt's result
    work = Job(
        name=f"stage {job.stage.name}",
        module=MODULE,
        job_file=job.stage.dir / "stage_job.json",
        payload=stage_payload(job, ctx.run, ctx.budget_usd),
        output=result,
        inline=lambda: job.kind.run(ctx),
        resources={"kind": job.kind.name, "label": job.label, "estimate": job.estimate},
    )
    if getattr(executor, "detaches", False):  # submits or polls, and returns at once
        executor.run(work, None, options, ctx)
    else:
        with ctx.progress() as advance:
            work.progress = lambda step, total: advance(step, total=total, absolute=True)
            executor.run(work, None, options, ctx)
    found = read_json(result)
    if "outputs" not in found:
        raise RunError(
            f"{job.label}: the executor finished but left no result ({result})",
            hint="the job's log beside stage_job.json says what happened",
        )
    result.unlink()
    if isinstance(found.get("seconds"), int | float):  # the time the stage took where it ran
        job.stage.worked_seconds = float(found["seconds"])
    return dict(found["outputs"])


def job_of(node: Any, graph: Any = None) -> StageJob:
    return StageJob(
        entry=node.entry,
        options=node.options,
        inputs=upstream_of(node),
        slot_keys=node.slot_keys(),
        stage=node.stage,
        label=node.label,
        arms=node.arms,
        executor=None if graph is None else graph.executors.get(node.id),
        estimate=node.estimate,
    )


def execute(
    graph: Any,
    *,
    run: str,
    ui: Any,
    wait: bool = True,
    on_stage: Any = None,
    budget_usd: float | None = None,
    failed_before: dict[str, MsmkitError] | None = None,
) -> Outcome:
    """Run every stage of ``graph`` that is not done, in order. Returns what happened.

    ``on_stage(outcome)`` is called after each stage (the caller rewrites the manifest).
    A stage left waiting blocks the stages after it; the others go on. So does a stage that
    fails (its error is kept in ``outcome.failed``): the other arms finish, and the caller
    reports the failures. ``failed_before`` (the controller's earlier passes) are failed
    already: not run again in this run. An interrupt (Ctrl-C) stops everything at once.
    """
    outcome = Outcome()
    for node in graph.ordered():
        if failed_before and node.id in failed_before:
            outcome.statuses[node.id] = "failed"
            outcome.failed[node.id] = failed_before[node.id]
            continue
        blocked = [
            v.id
            for v in node.slots.values()
            if not isinstance(v, Upstream) and outcome.statuses.get(v.id) != "done"
        ]
        if blocked:
            outcome.statuses[node.id] = "blocked"
            failed = [b for b in blocked if b in outcome.failed]
            why = f"its input {failed[0]} failed" if failed else f"waits for {', '.join(blocked)}"
            ui.note(f"[dim]… {node.label}: {why}[/]")
            continue
        try:
            job = job_of(node, graph)
            result = run_stage(job, run=run, ui=ui, wait=wait, budget_usd=budget_usd)
        except MsmkitError as exc:
            outcome.statuses[node.id] = "failed"
            outcome.failed[node.id] = exc
            ui.failed(node, exc)
            if on_stage is not None:
                on_stage(outcome)
            continue
        outcome.statuses[node.id] = result.status
        if result.status == "waiting":
            outcome.waiting[node.id] = result.message or ""
        if result.computed:
            outcome.computed.append(node.id)
        if on_stage is not None:
            on_stage(outcome)
    return outcome


def detached(graph: Any, outcome: Outcome) -> list[str]:
    """Waiting stages whose executor detaches (a job on a cluster): the controller polls them."""
    return [
        node_id
        for node_id in outcome.waiting
        if getattr(graph.executors.get(node_id, (None, None))[0], "detaches", False)
    ]


def detaches(graph: Any) -> bool:
    return any(getattr(ex, "detaches", False) for ex, _ in graph.executors.values())


class OncePerMessage:
    """A RunUI that says each thing once: the controller passes over the graph again and
    again, and a skipped stage or an unchanged wait is not news."""

    def __init__(self, ui: Any) -> None:
        self.ui = ui
        self.seen: set[tuple[str, ...]] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ui, name)

    def _new(self, *key: str) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def note(self, message: str) -> None:
        if self._new("note", message):
            self.ui.note(message)

    def skipped(self, node: Any) -> None:
        if self._new("skipped", node.id):
            self.ui.skipped(node)

    def held(self, node: Any, holder: str) -> None:
        if self._new("held", node.id, holder):
            self.ui.held(node, holder)

    def waiting(self, node: Any, message: str) -> None:
        if self._new("waiting", node.id, message):
            self.ui.waiting(node, message)

    def finished(self, node: Any) -> None:
        self.seen.add(("skipped", node.id))  # done now: no "done earlier" on the next pass
        self.ui.finished(node)


def control(
    graph: Any,
    *,
    run: str,
    ui: Any,
    poll_s: float = 10.0,
    detach: bool = False,
    **settings: Any,
) -> Outcome:
    """The controller: pass over the graph (submitting every stage whose inputs are done),
    then, unless ``detach``, sleep ``poll_s`` and pass again while any stage waits on a
    detaching executor; a finished job is collected and the stages after it submitted on the
    next pass. Stages waiting on anything else (a provider batch) are left waiting, as
    :func:`execute` leaves them. Every submission is saved in its stage before the pass goes
    on, so a controller killed at any point is replaced by running it again."""
    once = OncePerMessage(ui)
    outcome = execute(graph, run=run, ui=once, **settings)
    computed = list(outcome.computed)
    while not detach and (waiting := detached(graph, outcome)):
        soonest = [getattr(graph.executors[n][0], "poll_s", poll_s) for n in waiting]
        time.sleep(min([poll_s, *soonest]))  # local processes are looked at sooner
        # a stage that failed stays failed for this run: a deterministic failure (a probe
        # gate, a bad input) resubmitted on every pass would only burn the machine's time
        outcome = execute(graph, run=run, ui=once, failed_before=outcome.failed, **settings)
        computed += [c for c in outcome.computed if c not in computed]
    outcome.computed = computed  # every pass's, not only the last one's
    return outcome
