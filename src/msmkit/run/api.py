"""The one way to run an experiment: :class:`Run` and :func:`run_experiment`.

``msmkit run``, ``msmkit plan``, ``msmkit demo`` and any other front end (a notebook, a report,
a cluster controller) go through here::

    import msmkit

    result = msmkit.run_experiment("experiments/cheese-demo.yaml", log_dir="logs")
    result.comparison["arms"]           # rates with CIs, per arm
    result.run_dir / "manifest.json"    # everything needed to reproduce it

A ``Run`` plans (builds and validates the stage graph: nothing runs), then executes: it claims
the run folder (never another experiment's), writes the manifest before and after every
stage, records which store stages the run uses, runs every stage under its lock (a stage
another process is computing is waited for, never computed twice), passes the run's dollar
budget to paid stages, and writes the comparison of arms.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msmkit.experiment import ExperimentFile, read_experiment

MANIFEST_EVERY_S = 5.0
"""With no status change, the manifest is rewritten at most this often during a run."""


class ManifestRefresh:
    """When to rewrite the manifest (and status page) after a stage: whenever a stage's status
    changed, else at most every ``every_s`` seconds. A controller passes over the whole graph
    again and again while jobs run; rebuilding the manifest after every stage of every pass
    cost the controller half a core on a 12-seed demo, time the training jobs needed."""

    def __init__(self, every_s: float | None = None, clock: Any = None) -> None:
        import time

        self.every_s = MANIFEST_EVERY_S if every_s is None else every_s
        self.clock = clock or time.monotonic
        self.saved: dict[str, str] | None = None
        self.at = 0.0

    def __call__(self, statuses: dict[str, str]) -> bool:
        now = self.clock()
        if statuses == self.saved and now - self.at < self.every_s:
            return False
        self.saved, self.at = dict(statuses), now
        return True


@dataclass
class RunResult:
    run_dir: Path
    graph: Any
    statuses: dict[str, str] = field(default_factory=dict)
    computed: list[str] = field(default_factory=list)  # stage ids this run computed
    waiting: dict[str, str] = field(default_factory=dict)  # stage id -> what it waits for
    unscored: dict[str, str] = field(default_factory=dict)  # eval stage id -> why no result
    failed: dict[str, Any] = field(default_factory=dict)  # stage id -> its error
    comparison: dict[str, Any] | None = None

    def raise_first_failure(self) -> None:
        """Raise the first stage failure (after every other arm finished), if any."""
        if self.failed:
            raise next(iter(self.failed.values()))

    @property
    def complete(self) -> bool:
        return all(s == "done" for s in self.statuses.values())

    @property
    def manifest(self) -> dict[str, Any]:
        from msmkit.files import read_json

        return read_json(self.run_dir / "manifest.json")


class Run:
    """One experiment run: where it writes, and how it runs.

    ``experiment`` is a path or an already read :class:`ExperimentFile`. ``run_name`` names
    the folder under ``log_dir`` (default: the experiment's name); ``output`` puts the run
    folder elsewhere (stages stay in ``<log_dir>/store``). ``budget_usd`` caps each paid
    stage that sets no budget of its own; ``wait=False`` fails instead of waiting for a
    stage another process holds. ``ui`` is a :class:`msmkit.ui.RunUI` (quiet by default
    when used as a library). ``on_update(run, statuses)`` is called each time the manifest
    is rewritten (before the first stage, after each stage, at the end), e.g. to refresh a
    status page; an exception it raises is reported and the run goes on.
    ``executor`` puts every stage on that executor instead of the
    experiment's (``msmkit run --executor slurm``). When stages run on an executor that
    detaches (a cluster's), :meth:`execute` is the controller: it submits every stage whose
    inputs are done and polls every ``poll_s`` seconds until none waits, or, with ``detach``,
    returns once the ready stages are submitted (run it again to go on).
    """

    def __init__(
        self,
        experiment: str | Path | ExperimentFile,
        *,
        run_name: str | None = None,
        output: str | Path | None = None,
        log_dir: str | Path | None = None,
        budget_usd: float | None = None,
        wait: bool = True,
        ui: Any = None,
        argv: list[str] | None = None,
        on_update: Any = None,
        executor: str | None = None,
        detach: bool = False,
        poll_s: float = 10.0,
    ) -> None:
        from msmkit.run.folder import RunFolder, default_log_dir, run_dir_for

        self.ef = (
            experiment if isinstance(experiment, ExperimentFile) else read_experiment(experiment)
        )
        self.log_dir = Path(log_dir) if log_dir is not None else default_log_dir()
        name = run_name if run_name is not None else self.ef.experiment.name
        out = Path(output) if output is not None else None
        self.folder = RunFolder(run_dir_for(name, log_dir=self.log_dir, output=out))
        if executor is not None:
            from dataclasses import replace

            exp = self.ef.experiment
            chosen = exp.executor.override(executor)
            self.ef = replace(self.ef, experiment=exp.model_copy(update={"executor": chosen}))
        self.budget_usd = budget_usd
        self.wait = wait
        self.detach = detach
        self.poll_s = poll_s
        self.argv = list(argv if argv is not None else sys.argv)
        if ui is None:
            from msmkit.ui import RunUI

            ui = RunUI(quiet=True)
        self.ui = ui
        self.on_update = on_update
        self._graph: Any = None

    @property
    def graph(self) -> Any:
        return self.plan()

    def plan(self, *, full: bool = False) -> Any:
        """Build and validate the stage graph (cached): every component's options, task
        arguments and the log dir are checked here; nothing runs or is written. Checks that
        need heavy libraries (the real training configs) run with ``full``, and always
        before :meth:`execute` starts a stage."""
        if self._graph is None:
            from msmkit.run.expand import build_graph
            from msmkit.run.folder import check_log_dir
            from msmkit.run.store import Store

            check_log_dir(self.log_dir)
            if self.folder.path.parent != self.log_dir:
                check_log_dir(self.folder.path.parent)
            self._graph = build_graph(self.ef, Store.under(self.log_dir), quick=True)
        if full:
            self._graph.full_check()
        return self._graph

    def execute(self) -> RunResult:
        """Run every stage that is not done, then compare the arms. A stage that fails does
        not stop the others: the result lists it (``failed``) for the caller to report."""
        from msmkit import compare
        from msmkit.files import write_json_atomic
        from msmkit.run.manifest import build_manifest
        from msmkit.run.results import arm_logs, results_of, unscored_notes
        from msmkit.run.runner import control, detaches, execute

        graph = self.plan(full=True)
        folder = self.folder
        folder.claim(graph.exp.name)

        def manifest(statuses: dict[str, str], results: Any = None) -> None:
            data = build_manifest(folder, graph, statuses, results, argv=self.argv)
            folder.write({**data, "budget_usd": self.budget_usd})
            if self.on_update is not None:
                try:
                    self.on_update(self, dict(statuses))
                except Exception as exc:  # a status page must never stop a run
                    self.ui.note(f"[yellow]run update hook failed: {type(exc).__name__}: {exc}[/]")

        manifest({})
        graph.store.add_refs(folder.path, [n.id for n in graph.ordered()])
        statuses: dict[str, str] = {}

        due = ManifestRefresh()

        def save(outcome: Any) -> None:
            statuses.update(outcome.statuses)
            if due(statuses):
                manifest(statuses)

        settings: dict[str, Any] = {"wait": self.wait, "on_stage": save}
        settings["budget_usd"] = self.budget_usd
        if detaches(graph):
            settings.update(poll_s=self.poll_s, detach=self.detach)
        try:
            outcome = (control if detaches(graph) else execute)(
                graph, run=folder.path.name, ui=self.ui, **settings
            )
        finally:
            manifest(statuses)
        statuses.update(outcome.statuses)
        table = compare.comparison(
            arm_logs(graph, statuses),
            pairs=graph.pairs,
            correction=graph.exp.compare.correction,
        )
        table["notes"].extend(unscored_notes(graph, statuses))
        write_json_atomic(folder.path / "comparison.json", table)
        (folder.path / "comparison.md").write_text(compare.to_markdown(table), encoding="utf-8")
        manifest(statuses, results_of(graph))
        unscored = {
            n.id: str(n.stage.outputs()["unscored"])
            for n in graph.ordered()
            if statuses.get(n.id) == "done" and n.stage.outputs().get("unscored")
        }
        return RunResult(
            run_dir=folder.path,
            graph=graph,
            statuses=statuses,
            computed=outcome.computed,
            waiting=outcome.waiting,
            unscored=unscored,
            failed=dict(outcome.failed),
            comparison=table,
        )


def run_experiment(experiment: str | Path | ExperimentFile, **settings: Any) -> RunResult:
    """Plan and run an experiment; see :class:`Run` for the settings. A failed stage is
    raised after the stages that did not need it have finished."""
    result = Run(experiment, **settings).execute()
    result.raise_first_failure()
    return result
