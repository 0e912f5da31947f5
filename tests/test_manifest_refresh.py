"""The manifest (and status page) is rewritten when a stage's status changes, else at most
every few seconds: a controller's passes over a large graph must not rebuild it after every
stage of every pass."""

from __future__ import annotations

from msmkit.run.api import ManifestRefresh
from msmkit.run.folder import library_versions


def test_rewritten_on_a_status_change_else_at_most_every_interval() -> None:
    now = [100.0]
    due = ManifestRefresh(every_s=5.0, clock=lambda: now[0])
    statuses = {"spec-a": "done", "corpus-a": "waiting"}
    assert due(statuses)  # the first save always writes
    assert not due(statuses)  # a pass that changed nothing
    now[0] += 4.9
    assert not due(dict(statuses))
    statuses["corpus-a"] = "done"  # a job finished: written at once
    assert due(statuses)
    statuses["midtrain-a"] = "waiting"  # a new stage submitted: written at once
    assert due(statuses)
    now[0] += 5.0
    assert due(statuses)  # nothing changed, but the interval passed (progress, times)
    assert not due(statuses)


def test_the_saved_statuses_are_a_copy_not_the_callers_dict() -> None:
    due = ManifestRefresh(every_s=60.0, clock=lambda: 0.0)
    statuses = {"spec-a": "waiting"}
    assert due(statuses)
    statuses["spec-a"] = "done"  # mutated in place, as the run's dict is
    assert due(statuses)


def test_library_versions_are_read_once_and_handed_out_as_copies() -> None:
    first = library_versions()
    first["torch"] = "edited"
    assert library_versions().get("torch") != "edited"
    assert set(library_versions()) == set(first)
