"""The training and eval nodes of an arm, with every check their settings need at plan time:
the backend's options and ``validate``, the executor (``launch``), an eval task's arguments
(by its signature, its annotations and its own ``check``) and Inspect generate settings."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from msmkit.errors import ConfigError, OptionError, PrerequisiteError
from msmkit.experiment import EvalRef
from msmkit.registry import Entry, get_registry

if TYPE_CHECKING:
    from msmkit.run.graph import ArmInfo, Graph, Loc, Node, Source


def seed_note(graph: Graph, seed: int) -> str:
    return f" (seed {seed})" if len(graph.exp.all_seeds()) > 1 else ""


def backend(graph: Graph, settings: Any, where: Loc) -> tuple[Entry, BaseModel]:
    entry = graph.entry("backends", settings.backend, (*where, "backend"))
    missing = [m for m in entry.component.requires if importlib.util.find_spec(m) is None]
    if missing:
        raise PrerequisiteError(
            f"training backend '{entry.name}' needs {', '.join(missing)}, not installed",
            hint="pip install 'msmkit[train]' (CPU: add -c constraints.txt)",
        )
    return entry, graph.options(entry, settings.options, (*where, "options"))


def launch(graph: Graph, settings: Any, where: Loc, backend_component: Any) -> tuple[Any, int]:
    """The stage's launch settings, checked (None when left at the default), and the world
    size the executor trains on."""
    from msmkit.training.launch import bundled_configs, check_launch

    launch = settings.launch
    try:
        world = check_launch(launch, base_dir=graph.ef.base_dir, backend=backend_component)
    except OptionError as exc:
        raise graph.option_error(exc, (*where, "launch")) from None
    if not launch.model_fields_set:
        return None, world
    if launch.config_file is not None and launch.config_file not in bundled_configs():
        launch = launch.model_copy(
            update={"config_file": str(graph.ef.resolve(launch.config_file))}
        )
    return launch, world


def add_training(
    graph: Graph,
    walk: Any,
    stage: str,
    settings: Any,
    where: Loc,
    slots: dict[str, Source],
    label: str,
    *,
    corpus_source: dict[str, Any] | None = None,
) -> Node:
    """A ``midtrain`` or ``aft`` node for one arm at one seed."""
    from msmkit.stages.train import TrainOptions

    entry, opts = backend(graph, settings, where)
    launch_settings, world = launch(graph, settings, where, entry.component)
    base = graph.base.model if graph.base is not None else None
    memo = f"{entry.name}:{stage}:{opts.model_dump_json()}:{base}"
    graph.check(memo, entry, stage, opts, base, loc=(*where, "options"))
    refs = getattr(entry.component, "data_refs", None)
    data_refs = entry.call("reading data refs", refs, stage, opts) if callable(refs) else None
    options = TrainOptions(
        backend=entry.name,
        backend_options=opts.model_dump(mode="json"),
        seed=walk.seed,
        launch=launch_settings,
        world_size=world,
        data_refs=data_refs or None,
        corpus_source=corpus_source,
    )
    node = graph.add(
        stage,
        options,
        slots,
        arm=walk.arm.name,
        role=stage,
        where=where,
        label=f"{label}{seed_note(graph, walk.seed)}",
    )
    graph.arms[walk.arm.name].note(entry)
    return node


# -- evals ---------------------------------------------------------------------------------


def eval_names(graph: Graph, refs: list[EvalRef], where: Loc, arm: str) -> list[str]:
    """How results name each eval of an arm: its ``name``, else the task, else (when the arm
    evaluates a task more than once with arguments) ``task[arg=value,...]``. Two evals of an
    arm may not share a name."""
    counts: dict[str, int] = {}
    for ref in refs:
        counts[ref.task] = counts.get(ref.task, 0) + 1
    names: list[str] = []
    for k, ref in enumerate(refs):
        task = ref.task.rpartition("@")[2].replace("/", ".")  # Inspect names: pkg/x, f.py@x
        if ref.name:
            name = ref.name
        elif counts[ref.task] == 1 or not ref.args:
            name = task
        else:
            args = ",".join(f"{key}={ref.args[key]}" for key in sorted(ref.args))
            name = f"{task}[{args}]".replace("/", ".")
        if name in names:
            raise graph.error(
                (*where, k),
                f"arm '{arm}' has two evals named {name!r}",
                hint="give each a different `name:` (or different args)",
            )
        names.append(name)
    return names


def check_args(graph: Graph, tentry: Entry, args: dict[str, Any], where: Loc) -> None:
    """A task's arguments: known to its signature, of its annotated types, and accepted by
    the task's own ``check`` (EvalTask.check), all before anything runs."""
    from msmkit.stages.evaluate import check_task_arg_types, check_task_args, task_schema

    schema = tentry.call("reading its signature", task_schema, tentry.component)
    try:
        check_task_args(schema, args)
        check_task_arg_types(schema, args)
    except OptionError as exc:
        raise graph.option_error(exc, where) from None
    check = tentry.call("loading its argument check", tentry.component.load_check)
    if check is None:
        return
    try:
        check(**args)
    except OptionError as exc:
        loc = exc.loc if exc.loc[:1] == ("args",) else ("args", *exc.loc)
        raise graph.option_error(OptionError(exc.message, loc=loc, hint=exc.hint), where) from None
    except ConfigError as exc:  # the task's own check, which knows no file or line
        raise graph.error((*where, "args"), exc.message, exc.hint) from None
    except (ValueError, TypeError) as exc:
        raise graph.error((*where, "args"), str(exc)) from None


def add_eval(
    graph: Graph,
    ref: EvalRef,
    where: Loc,
    model: Source,
    arm: str,
    info: ArmInfo,
    system_message: str | None = None,
) -> Node:
    """An eval node; ``system_message`` (an in-context arm's spec) goes into its generate
    settings, so the spec is the system prompt of every sample."""
    from msmkit.stages.evaluate import EvalOptions, check_generate

    settings = graph.exp.eval
    tentry = task_entry(graph, ref.task, (*where, "task"))
    memo = f"task:{tentry.name}:{sorted(ref.args.items())!r}"
    if memo not in graph._validated:
        check_args(graph, tentry, ref.args, where)
        graph._validated.add(memo)
    try:
        check_generate(settings.generate, ())
    except OptionError as exc:
        raise graph.option_error(exc, ("eval", "generate")) from None
    try:
        check_generate(ref.generate, ())
    except OptionError as exc:
        raise graph.option_error(exc, (*where, "generate")) from None
    roles = {**settings.roles, **ref.roles}
    for role, name in roles.items():
        if "/" not in name:
            loc = (*where, "roles", role) if role in ref.roles else ("eval", "roles", role)
            raise graph.error(
                loc, f"{name!r} is not an Inspect model name", hint="e.g. openai/gpt-4o-mini"
            )
    serve = settings.serve
    options = EvalOptions(
        task=tentry.name,
        task_provider=tentry.provider,
        task_args=ref.args,
        generate={
            **settings.generate,
            **ref.generate,
            **({"system_message": system_message} if system_message else {}),
        },
        roles=roles,
        provider=serve.provider,
        base_url=serve.base_url,
        served_name=serve.served_name,
        model_args=serve.model_args,
        max_connections=settings.max_connections,
        limit=settings.limit,
    )
    node = graph.add("eval", options, {"model": model}, arm=arm, role="eval", where=where)
    info.note(node.entry)
    info.note(tentry)
    return node


def task_entry(graph: Graph, name: str, loc: Loc) -> Entry:
    """A task of msmkit's registry, or any Inspect task by Inspect's name for it
    (``package/task``, ``file.py@task``: :mod:`msmkit.evals.external`)."""
    from msmkit.errors import UnknownComponentError
    from msmkit.evals.external import inspect_task, is_inspect_name

    if name in get_registry("tasks") or not is_inspect_name(name):
        return graph.entry("tasks", name, loc)
    try:
        task = inspect_task(name, graph.ef.base_dir)
    except UnknownComponentError as exc:
        raise graph.error(loc, exc.message, exc.hint) from None
    return Entry(task.name, task, "inspect", task.description.removeprefix("Inspect task "))
