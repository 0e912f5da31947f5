"""Inputs an experiment brings from outside the store: the base model (a local folder, a hub
id, a ``tiny-base`` stage or a plugin's stage), AFT demonstrations from a file, and an
external midtraining corpus. Each becomes an ``Upstream`` keyed by its content, or a node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msmkit.errors import ConfigError, OptionError
from msmkit.experiment import Arm, StageRef, TinyBase
from msmkit.hashing import fingerprint
from msmkit.run.modelref import resolve_base_model
from msmkit.stagekit import FileRef, Upstream

if TYPE_CHECKING:
    from msmkit.run.graph import Graph, Loc, Node, Source


def where(graph: Graph, i: int, arm: Arm, name: str) -> Loc:
    """Where a setting of arm ``i`` was written: in the arm, or in ``defaults``."""
    return ("arms", i, name) if getattr(arm, name) is not None else ("defaults", name)


def aft_file(graph: Graph, i: int, arm: Arm) -> Upstream | None:
    """The arm's ``aft.data`` when it is a file or a bundled set (None otherwise)."""
    aft = graph.exp.aft_for(arm)
    if aft is None or aft.data is None or isinstance(aft.data, StageRef):
        return None
    loc = (*where(graph, i, arm, "aft"), "data")
    from msmkit.resources import AFT_SETS, aft_set

    path = aft_set(aft.data) or graph.ef.resolve(aft.data)
    if not path.is_file():
        raise graph.error(
            loc,
            f"{aft.data!r} is neither a bundled AFT set nor an existing file ({path})",
            hint=f"bundled sets: {', '.join(AFT_SETS)}; or give a JSONL path",
        )
    from msmkit.training.data import read_chats

    try:
        chats = read_chats(path)
    except ConfigError as exc:
        raise graph.error(loc, exc.message, exc.hint) from None
    tokens = sum(len(m["content"]) for chat in chats for m in chat) // 4  # characters / 4
    ref = FileRef.of(path)
    graph.arms[arm.name].aft_data = ref
    return Upstream("chats", ref.sha256, {"data": ref.path, "items": len(chats), "tokens": tokens})


def base_source(graph: Graph, seed: int, corpora: list[Source], chats: list[Source]) -> Source:
    """The base model every arm of ``seed`` starts from."""
    base = graph.exp.base_model
    arms = [a.name for a in graph.exp.arms]
    if isinstance(base, str):
        if graph.base is None:
            try:
                graph.base = resolve_base_model(base, graph.ef.base_dir)
            except Exception as exc:
                msg = getattr(exc, "message", str(exc))
                raise graph.error(("base_model",), msg, getattr(exc, "hint", None)) from None
        from msmkit.training.estimate import params_of

        name = graph.base.model
        if graph.base.revision and "@" in base:  # pinned by the user: loaders get it too
            name = f"{name}@{graph.base.revision}"
        return Upstream("model", graph.base.key, {"model": name, "params": params_of(name)})
    if isinstance(base, TinyBase):
        from msmkit.stages.tiny_base import TinyBaseOptions

        options = TinyBaseOptions(settings={"seed": seed, **base.tiny})
        entry = graph.entry("stages", "tiny-base", ("base_model",))
        graph.validate_kind(entry, options, ("base_model", "tiny"))
        slots: dict[str, Source] = {}
        for n, source in enumerate(_unique(corpora)):
            slots[f"corpus-{n}"] = source
        for n, source in enumerate(_unique(chats)):
            slots[f"chats-{n}"] = source
        node = graph.add(
            "tiny-base", options, slots, arm=arms[0], role="base", where=("base_model",)
        )
        node.arms = list(arms)  # every arm starts from it
        return node
    entry = graph.entry("stages", base.stage, ("base_model", "stage"))
    kind = entry.component
    if kind.produces != "model":
        raise graph.error(
            ("base_model", "stage"),
            f"stage kind '{kind.name}' produces {kind.produces}, but a model is needed here",
        )
    fixed = [s for s in dict(kind.consumes) if not s.endswith("*")]
    if fixed:
        raise graph.error(
            ("base_model", "stage"),
            f"stage kind '{kind.name}' consumes {', '.join(fixed)}; a base model stage "
            "takes no inputs",
        )
    fields = getattr(kind.Options, "model_fields", {})
    raw = dict(base.options)
    if "seed" in fields and "seed" not in raw:  # one base per seed, unless pinned
        raw["seed"] = seed
    options = graph.options(entry, raw, ("base_model", "options"))
    graph.validate_kind(entry, options, ("base_model", "options"))
    node = graph.add(kind.name, options, {}, arm=arms[0], role="base", where=("base_model",))
    node.arms = list(arms)
    return node


def _unique(sources: list[Source]) -> list[Source]:
    """Sources in a stable order, each once (by key)."""
    from msmkit.run.graph import Node

    seen: dict[str, Source] = {}
    for source in sources:
        key = source.id if isinstance(source, Node) else source.key
        seen.setdefault(key, source)
    return [seen[k] for k in sorted(seen)]


def external_corpus(graph: Graph, source: Any, loc: Loc) -> tuple[Upstream, dict[str, Any]]:
    """A midtrain ``corpus:`` source as the corpus slot; its content ref is the key."""
    from msmkit.training.sources import check_source, source_ref

    if not source.is_hub:
        source = source.model_copy(update={"path": str(graph.ef.resolve(source.path))})
    try:
        check_source(source, loc=("path",))
    except OptionError as exc:
        raise graph.option_error(exc, (*loc, "corpus")) from None
    record = source.model_dump(mode="json")
    key = fingerprint({**record, "ref": source_ref(source)})
    return Upstream("corpus", key, {"corpus": source.path, "data": source.path}), record


def node_or_none(source: Source | None) -> Node | None:
    from msmkit.run.graph import Node

    return source if isinstance(source, Node) else None
