"""Any Inspect task in an experiment, not only msmkit's registered ones.

``evals: [{task: inspect_evals/ifeval}]`` names a task the way ``inspect eval`` does: a
package's task through the package's ``inspect_ai`` entry point, or a file task,
``path/to/tasks.py@name`` (relative to the experiment file). Either becomes an
:class:`~msmkit.components.EvalTask`, so it is planned like msmkit's own: its arguments are
checked against its signature and annotations, and its fingerprint covers the package's
version (or the task file's content). Nothing here imports Inspect or the package until the
task runs; a package's signature is read once and cached by the package's version.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from msmkit.components import EvalTask, load_file_task  # noqa: F401
from msmkit.errors import UnknownComponentError


def is_inspect_name(name: str) -> bool:
    return "/" in name or "@" in name


def file_task(spec: str, base_dir: Path | None) -> EvalTask:
    """``tasks.py@name``: the task ``name`` defined in a Python file."""
    path_text, _, func = spec.rpartition("@")
    path = Path(path_text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    path = path.resolve()
    if not path.is_file() or path.suffix != ".py" or not func.isidentifier():
        raise UnknownComponentError(
            f"task {spec!r}: no Python file {path}"
            if not path.is_file()
            else f"task {spec!r}: write FILE.py@TASK_FUNCTION",
            hint="a file task is path/to/file.py@task_name, relative to the experiment file",
        )

    return EvalTask(
        name=f"{path}@{func}",
        task=f"{path}@{func}",
        description=f"Inspect task {func} from {path}",
        version="file",
        data=(path,),
    )


def package_task(name: str) -> EvalTask:
    """``package/task``: a task an installed package registers with Inspect."""
    package, _, func = name.partition("/")
    found = [ep for ep in entry_points(group="inspect_ai") if ep.name == package]
    if not found:
        known = sorted(ep.name for ep in entry_points(group="inspect_ai"))
        raise UnknownComponentError(
            f"unknown task '{name}': no installed package registers '{package}' with Inspect",
            hint=f"packages with Inspect tasks here: {', '.join(known) or 'none'}; "
            "msmkit's own: `msmkit list tasks`",
        )
    ep = found[0]
    dist = ep.dist.name if ep.dist is not None else package
    version = ep.dist.version if ep.dist is not None else "?"
    return EvalTask(
        name=name,
        task=f"{ep.value}:{func}",
        description=f"Inspect task {name} ({dist} {version})",
        version=f"{dist}=={version}",
        packages=(dist,),
    )


def inspect_task(name: str, base_dir: Path | None = None) -> EvalTask:
    """The EvalTask for an Inspect task name msmkit's registry does not know."""
    if "@" in name:
        return file_task(name, base_dir)
    return package_task(name)


def resolve_task(name: str) -> EvalTask:
    """A task by name: msmkit's registry first, else Inspect's naming (see the module)."""
    from msmkit.registry import get_registry

    registry = get_registry("tasks")
    if name in registry or not is_inspect_name(name):
        return registry.get(name)
    return inspect_task(name)
