"""Executing a graph: each stage under its lock, skipped when done, resumed when waiting.

States of a stage in the store: *done* (skipped), *waiting* (external work was submitted:
the kind is called again to collect it, never to resubmit), *stale* (an intermediate file was
edited since it finished: it runs again, keeping the edited files), and anything else
(*running* from a process that died, *failed*, or nothing yet): it runs, with a half-written
folder set aside first unless the kind can continue one (``resumable``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from msmkit.errors import MsmkitError
from msmkit.run.graph import Graph, Node
from msmkit.stagekit import StageContext, StillWaiting, Upstream


@dataclass
class Outcome:
    statuses: dict[str, str] = field(default_factory=dict)  # node id -> done/waiting/blocked
    computed: list[str] = field(default_factory=list)  # node ids this process ran
    waiting: dict[str, str] = field(default_factory=dict)  # node id -> message

    @property
    def complete(self) -> bool:
        return all(s == "done" for s in self.statuses.values())


def upstream_of(node: Node) -> dict[str, Upstream]:
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


def execute(graph: Graph, *, run: str, ui: Any, wait: bool = True, on_stage=None) -> Outcome:
    """Run every stage of ``graph`` that is not done, in order. Returns what happened.

    ``on_stage(outcome)`` is called after each stage (the caller rewrites the manifest).
    A stage left waiting blocks the stages after it; the others go on.
    """
    outcome = Outcome()
    for node in graph.ordered():
        blocked = [
            v.id
            for v in node.slots.values()
            if not isinstance(v, Upstream) and outcome.statuses.get(v.id) != "done"
        ]
        if blocked:
            outcome.statuses[node.id] = "blocked"
            ui.note(f"[dim]… {node.label}: waits for {', '.join(blocked)}[/]")
            continue
        outcome.statuses[node.id] = _run_node(graph, node, run=run, ui=ui, wait=wait, out=outcome)
        if on_stage is not None:
            on_stage(outcome)
    return outcome


def _run_node(graph: Graph, node: Node, *, run: str, ui: Any, wait: bool, out: Outcome) -> str:
    sd = node.stage
    if sd.status == "done":
        ui.skipped(node)
        return "done"
    with sd.lock(run=run, wait=wait, on_wait=lambda holder: ui.held(node, holder)):
        status = sd.status  # again, under the lock: another process may have finished it
        if status == "done":
            ui.skipped(node)
            return "done"
        keep = (*sd.record().get("intermediates", {}), *getattr(node.kind, "keep_on_redo", ()))
        if status == "stale":
            sd.set_aside(keep=keep)
        elif status in ("running", "failed", "todo") and not node.kind.resumable:
            aside = sd.set_aside(keep=keep)
            if aside is not None:
                ui.note(f"[yellow]{node.label}: a half-written attempt was set aside ({aside})[/]")
        elif status == "waiting":
            ui.note(f"{node.label}: collecting work submitted earlier")
        sd.start(node.options.model_dump(mode="json"), node.slot_keys(), run)
        ctx = StageContext(
            dir=sd.dir,
            options=node.options,
            inputs=upstream_of(node),
            stage=sd,
            label=node.label,
            arms=node.arms,
            reporter=ui if not getattr(ui, "quiet", False) else None,
        )
        try:
            outputs = node.kind.run(ctx)
        except StillWaiting as exc:
            out.waiting[node.id] = str(exc)
            ui.waiting(node, str(exc))
            return "waiting"
        except MsmkitError as exc:
            sd.fail(f"{type(exc).__name__}: {exc}")
            raise
        except Exception as exc:  # a bug in the kind: one short error naming it
            sd.fail(f"{type(exc).__name__}: {exc}")
            raise node.entry.error("running", exc) from exc
        except BaseException as exc:  # KeyboardInterrupt and friends: record, then go
            sd.fail(f"{type(exc).__name__}: {exc}")
            raise
        if not isinstance(outputs, dict):
            err = node.entry.error("running", TypeError(f"run() returned {outputs!r}, not a dict"))
            sd.fail(str(err))
            raise err
        sd.finish(outputs)
        out.computed.append(node.id)
        ui.finished(node)
        return "done"
