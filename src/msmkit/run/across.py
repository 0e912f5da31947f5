"""Stages across arms (``across_arms:``): each runs once over every arm's outputs.

Their slots must be starred (``eval*``): a starred slot receives every arm's artifacts of its
type at every seed, named ``<slot>/<arm>/<seed>/<label>`` (an eval's label is its name, with
``/<phase>`` for evals before AFT), so a report kind can tell them apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from msmkit.experiment import StageStep
    from msmkit.run.graph import Chain, Graph, Loc, Source


def add_across(g: Graph, k: int, step: StageStep) -> None:
    where: Loc = ("across_arms", k)
    entry = g.entry("stages", step.stage, (*where, "stage"))
    kind = entry.component
    slots: dict[str, Source] = {}
    for slot, artifact in dict(kind.consumes).items():
        if not slot.endswith("*"):
            raise g.error(
                (*where, "stage"),
                f"stage kind '{kind.name}' has slot '{slot}' for one {artifact}; a stage "
                "across arms takes every arm's artifacts through starred slots (e.g. eval*)",
            )
        stem = slot.rstrip("*")
        for arm, info in g.arms.items():
            for chain in info.chains:
                for label, source in _chain_artifacts(chain, artifact):
                    slots[f"{stem}/{arm}/{chain.seed}/{label}"] = source
    if step.inputs:
        raise g.error((*where, "inputs"), "a stage across arms takes no inputs")
    options = g.options(entry, step.options, (*where, "options"))
    g.validate_kind(entry, options, (*where, "options"))
    arms = list(g.arms)
    node = g.add(kind.name, options, slots, arm=arms[0], role="across", where=where)
    node.arms = arms
    if node not in g.across:
        g.across.append(node)


def _chain_artifacts(chain: Chain, artifact: str) -> list[tuple[str, Source]]:
    if artifact == "eval":
        return [(e.name if e.final else f"{e.name}/{e.phase}", e.node) for e in chain.eval_steps]
    latest: Source | None = None
    for node in chain.steps:
        if node.produces == artifact:
            latest = node
    if artifact == "model":
        latest = chain.model
    return [] if latest is None else [(artifact, latest)]
