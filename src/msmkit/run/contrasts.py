"""Which pairs of arms a run compares: every pair (few arms), or the declared contrasts
(``compare: {contrasts: [...]}``): explicit ``[arm-a, arm-b]`` pairs, or an axis of the
matrix, which pairs every two arms whose coordinates differ on that axis alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msmkit.experiment import Contrast

if TYPE_CHECKING:
    from msmkit.run.graph import Graph


def resolve_pairs(graph: Graph) -> list[tuple[str, str]] | None:
    """The declared contrasts as arm pairs (None when none are declared); errors name the
    contrast's line."""
    contrasts = graph.exp.compare.contrasts
    if contrasts is None:
        return None
    arms = list(graph.arms)
    pairs: list[tuple[str, str]] = []
    for k, contrast in enumerate(contrasts):
        loc = ("compare", "contrasts", k)
        if isinstance(contrast, Contrast):
            found = axis_pairs(graph, contrast, loc)
        else:
            for j, name in enumerate(contrast):
                if name not in graph.arms:
                    raise graph.error(
                        (*loc, j), f"no arm is named '{name}'", hint=f"arms: {', '.join(arms)}"
                    )
            found = [tuple(contrast)]
        for pair in found:
            if pair not in pairs:
                pairs.append(pair)  # type: ignore[arg-type]
    return pairs


def axis_pairs(graph: Graph, contrast: Contrast, loc: tuple[Any, ...]) -> list[tuple[str, str]]:
    coords = {name: info.axes for name, info in graph.arms.items() if info.axes}
    values = sorted({repr(c[contrast.axis]) for c in coords.values() if contrast.axis in c})
    if not values:
        raise graph.error((*loc, "axis"), f"no matrix arm has an axis '{contrast.axis}'")
    levels = contrast.levels
    if levels is None:
        if len(values) != 2:
            raise graph.error(
                (*loc, "axis"),
                f"axis '{contrast.axis}' has {len(values)} values; name the two levels to compare",
                hint="e.g. {axis: aft_size, levels: [50, 200]}",
            )
        first = next(c[contrast.axis] for c in coords.values() if contrast.axis in c)
        other = next(
            c[contrast.axis]
            for c in coords.values()
            if contrast.axis in c and c[contrast.axis] != first
        )
        levels = [first, other]
    pairs = []
    for a, ca in coords.items():
        if ca.get(contrast.axis) != levels[0]:
            continue
        rest = {k: v for k, v in ca.items() if k != contrast.axis}
        for b, cb in coords.items():
            if (
                cb.get(contrast.axis) == levels[1]
                and {k: v for k, v in cb.items() if k != contrast.axis} == rest
            ):
                pairs.append((a, b))
    if not pairs:
        raise graph.error(
            (*loc, "levels"),
            f"no two arms differ only in {contrast.axis} ({levels[0]!r} vs {levels[1]!r})",
        )
    return pairs
