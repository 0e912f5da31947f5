"""Token matching in the graph: which arms form a group, and the match stage each member's
corpus or AFT set goes through (``token_match:`` in an experiment, ``msmkit.stages.sizes``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from msmkit.run.graph import Graph, Node, Source


def match_groups(graph: Graph) -> dict[tuple[str, str], tuple[int, list[str]]]:
    """(what, arm) -> (index of its token_match entry, the arms of its group)."""
    out: dict[tuple[str, str], tuple[int, list[str]]] = {}
    for k, match in enumerate(graph.exp.token_match):
        loc = ("token_match", k)
        if match.arms is not None:
            groups = [list(match.arms)]
            for j, name in enumerate(match.arms):
                if name not in graph.arms:
                    raise graph.error((*loc, "arms", j), f"no arm is named '{name}'")
        else:
            groups = _groups_across(graph, str(match.across), loc)
        for group in groups:
            for name in group:
                key = (match.what, name)
                if key in out:
                    raise graph.error(loc, f"arm '{name}' is in two {match.what} match groups")
                out[key] = (k, group)
    return out


def _groups_across(graph: Graph, axis: str, loc: tuple[Any, ...]) -> list[list[str]]:
    coords = {name: info.axes for name, info in graph.arms.items() if axis in info.axes}
    if not coords:
        raise graph.error((*loc, "across"), f"no matrix arm has an axis '{axis}'")
    groups: dict[str, list[str]] = {}
    for name, c in coords.items():
        rest = repr(sorted((k, repr(v)) for k, v in c.items() if k != axis))
        groups.setdefault(rest, []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def matched(
    graph: Graph,
    what: str,
    arm: str,
    own: Source,
    others: dict[str, Source],
    seed: int,
    entry_index: int,
) -> Node:
    """The match stage for ``arm``: its own set, cut to the smallest of ``others``'."""
    from msmkit.stages.sizes import MatchOptions

    match = graph.exp.token_match[entry_index]
    kind = "corpus-match" if what == "corpus" else "chats-match"
    own_slot = "corpus" if what == "corpus" else "data"
    slots: dict[str, Source] = {own_slot: own}
    keys = sorted(others.values(), key=lambda s: s.key)  # by content: arms sharing sets share
    for n, source in enumerate(keys):
        slots[f"group-{n}"] = source
    # one cut order for every seed: arms and seeds that train on the same sets share the cut
    options = MatchOptions(by=match.by, seed=0)
    return graph.add(kind, options, slots, arm=arm, role=what, where=("token_match", entry_index))


def apply_match(
    graph: Graph,
    groups: dict[tuple[str, str], tuple[int, list[str]]],
    dry: dict[str, Any],
    walk: Any,
    what: str,
    own: Source,
) -> Source:
    """``own``, or the match stage cutting it when the arm is in a ``what`` group; the
    other members' sets come from their walks before the base model (``dry``)."""
    found = groups.get((what, walk.arm.name))
    if found is None:
        return own
    index, group = found
    others = {}
    for name in group:
        other = dry[name]
        source = other.latest.get(what) or (other.aft_file if what == "chats" else None)
        if source is None:
            raise graph.error(
                ("token_match", index), f"arm '{name}' makes no {what} before training"
            )
        if name != walk.arm.name:
            others[name] = source
    return matched(graph, what, walk.arm.name, own, others, walk.seed, index)
