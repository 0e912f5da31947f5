"""``eval``: run one registered Inspect task against the checkpoint in the ``model`` slot.

The checkpoint is served through an Inspect provider that takes a model path as its model
name (``hf/<path>`` in-process; ``vllm/<path>``, for which Inspect starts a vLLM server), or
through a server already running at ``base_url``. The task keeps its own generate settings
except those the experiment sets; model roles (a grader) are passed to Inspect as roles.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from msmkit.components import Estimate, Options
from msmkit.errors import OptionError, PluginError
from msmkit.stagekit import RUNTIME, StageContext


class EvalOptions(Options):
    """What an eval computes (fingerprinted), and how it reaches the model (``RUNTIME``:
    concurrency, a server's URL and name, who registered the task)."""

    task: str
    task_provider: str = Field(
        "", json_schema_extra=RUNTIME, description="plugin and version that registered it"
    )
    task_args: dict[str, Any] = Field(default_factory=dict)
    generate: dict[str, Any] = Field(default_factory=dict)
    roles: dict[str, str] = Field(default_factory=dict)
    provider: str = "hf"
    base_url: str | None = Field(None, json_schema_extra=RUNTIME)
    served_name: str | None = Field(None, json_schema_extra=RUNTIME)
    model_args: dict[str, Any] = Field(default_factory=dict)
    max_connections: int = Field(16, json_schema_extra=RUNTIME)
    limit: int | None = None


def task_fingerprint(task: Any) -> dict[str, Any]:
    """What of a registered task decides its output: its version, the content of its data
    files (banks, prompts; READMEs and build scripts aside) and the versions of the
    packages it reads."""
    from importlib.metadata import PackageNotFoundError, version

    from msmkit.hashing import cached_sha256_file

    data: dict[str, str] = {}
    for root in task.data_paths() if hasattr(task, "data_paths") else []:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            listed = path == root  # a file named in data counts whatever it is
            if not listed and (path.suffix in (".py", ".pyc") or path.name.lower() == "readme.md"):
                continue
            rel = path.relative_to(root.parent).as_posix()
            data[rel] = cached_sha256_file(path)
    packages: dict[str, str | None] = {}
    for name in getattr(task, "packages", ()):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {"version": str(getattr(task, "version", "1")), "data": data, "packages": packages}


def model_name(options: EvalOptions, checkpoint: str) -> str:
    """What Inspect is told: ``<provider>/<absolute checkpoint path>`` (or the served name).

    Putting the path in the model name keeps Inspect's cache from mixing two checkpoints and
    keeps ``hf/`` from looking a placeholder name up on the hub."""
    if options.base_url and options.served_name:
        return f"{options.provider}/{options.served_name}"
    path = Path(checkpoint)
    return f"{options.provider}/{path.resolve() if path.exists() else checkpoint}"


def task_schema(task: Any) -> dict[str, Any]:
    """A registered task's parameters (``msmkit.schemas.signature_schema``), cached by its
    module's source files so planning does not import Inspect."""
    from msmkit.schemas import cached, signature_schema, source_stamp

    ref = task.task
    if callable(ref):
        return signature_schema(ref)
    if "@" in ref:  # a file task: its file's size and mtime
        st = Path(ref.rpartition("@")[0]).stat()
        stamp: list[Any] | None = [ref, st.st_size, st.st_mtime_ns]
    else:
        stamp = source_stamp(ref.partition(":")[0])
    if stamp is None:
        return signature_schema(task.load())
    return cached("task-signature", [ref, stamp], lambda: signature_schema(task.load()))


def check_task_args(schema: dict[str, Any], args: dict[str, Any]) -> None:
    """Arguments the task function does not take are errors (Inspect only warns)."""
    import difflib

    params = schema.get("params", {})
    if schema.get("var_keyword"):
        return
    for key in args:
        if key not in params:
            close = difflib.get_close_matches(key, list(params), n=1)
            raise OptionError(
                f"the task takes no argument {key!r}",
                loc=("args", key),
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"it takes: {', '.join(params) or 'nothing'}",
            )


def check_task_arg_types(schema: dict[str, Any], args: dict[str, Any]) -> None:
    """Each argument against the task's type annotation: ``limit_per_domain: lots`` for an
    ``int`` fails here, at plan time, not after training. Unannotated parameters (and types
    msmkit cannot name) are not checked."""
    from pydantic import TypeAdapter, ValidationError

    from msmkit.schemas import restore

    for key, value in args.items():
        text = schema.get("params", {}).get(key)
        annotation = restore(text) if text else Any
        if annotation is Any:
            continue
        try:
            adapter = TypeAdapter(annotation)
            adapter.validate_python(value, strict=True)
            continue
        except ValidationError as exc:
            strict_error = exc.errors()[0]["msg"]
        except Exception:
            continue
        try:
            coerced = adapter.validate_python(value)
        except ValidationError:
            ok = False
        else:  # lax passes: accept lists for tuples, not "5" or true for numbers
            numeric = isinstance(coerced, int | float) and not isinstance(coerced, bool)
            ok = not (numeric and isinstance(value, bool | str))
        if not ok:
            raise OptionError(
                f"{strict_error} (the task's {key} is {text}; got {value!r})",
                loc=("args", key),
                hint="see the task's arguments in its README or `msmkit list tasks --json`",
            )


GENERATE_BOUNDS = {
    "max_tokens": 1,
    "max_connections": 1,
    "num_choices": 1,
    "top_k": 1,
    "temperature": 0,
    "top_logprobs": 0,
    "top_p": 0,
    "timeout": 0,
    "max_retries": 0,
}
"""The smallest sensible value of numeric generate settings (``max_tokens: 0`` is refused
at plan time, not by the provider after training)."""


def generate_fields() -> dict[str, str]:
    from msmkit.schemas import cached, dist_versions, pydantic_fields

    def build() -> dict[str, Any]:
        from inspect_ai.model import GenerateConfig

        return pydantic_fields(GenerateConfig)

    return cached("inspect-generateconfig", dist_versions("inspect-ai"), build)["fields"]


def check_generate(settings: dict[str, Any], where: tuple = ("generate",)) -> None:
    """Inspect ``GenerateConfig`` fields only, each of the right type and a sensible value
    (checked against the cached field schema: no Inspect import)."""
    import difflib
    import math

    from pydantic import TypeAdapter, ValidationError

    from msmkit.schemas import restore

    fields = generate_fields()
    for key, value in settings.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            raise OptionError(
                "not an Inspect GenerateConfig field",
                loc=(*where, key),
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "e.g. max_tokens, temperature, top_p, seed, reasoning_tokens",
            )
        try:
            TypeAdapter(restore(fields[key])).validate_python(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise OptionError(
                err["msg"], loc=(*where, key), hint="see Inspect's GenerateConfig"
            ) from None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        low = GENERATE_BOUNDS.get(key)
        if number and (not math.isfinite(value) or (low is not None and value < low)):
            raise OptionError(
                f"{value!r} is not a sensible {key} (at least {low})",
                loc=(*where, key),
                hint="see Inspect's GenerateConfig",
            )


UNSCORED_FLAGS = ("nothing_scored", "unscored")
"""Metrics msmkit's tasks set to 1 when nothing was scored (no grader verdict, no decided
answer): the eval finished, but it has no result to read."""


def unscored_reason(metrics: dict[str, Any], task: str) -> str | None:
    """Why an eval has no result (a task's unscored flag, or every metric NaN), or None."""
    import math

    flagged = [k for k, v in metrics.items() if k.rsplit("/", 1)[-1] in UNSCORED_FLAGS and v]
    if flagged:
        return f"{task} scored nothing ({flagged[0]} = 1): its rates are NaN"
    numbers = [v for v in metrics.values() if isinstance(v, int | float)]
    if not numbers or all(isinstance(v, float) and math.isnan(v) for v in numbers):
        return f"{task} has no metric with a value"
    return None


class EvalKind:
    name = "eval"
    description = "Evaluate a checkpoint with a registered Inspect task"
    version = "2"
    Options: ClassVar[type[Options]] = EvalOptions
    consumes: ClassVar[dict[str, str]] = {"model": "model"}
    produces: ClassVar[str] = "eval"
    resumable: ClassVar[bool] = True  # eval_set continues a log dir it wrote

    def label(self, options: EvalOptions) -> str:
        return f"eval {options.task}"

    def fingerprint_extra(self, options: EvalOptions) -> dict[str, Any]:
        """The task's bank and prompt files: an edited bank reruns this task's evals."""
        from msmkit.evals.external import resolve_task

        return task_fingerprint(resolve_task(options.task))

    def estimate(self, options: EvalOptions, upstream: dict[str, Estimate]) -> Estimate:
        notes = [f"args: {options.task_args}"] if options.task_args else []
        if options.roles:
            notes.append("roles: " + ", ".join(f"{k}={v}" for k, v in options.roles.items()))
        extra = {}
        if options.provider == "vllm" and not options.base_url:
            extra["gpus"] = 1  # Inspect starts a vLLM server for the checkpoint: it needs one
        return Estimate("eval", notes=notes, extra=extra)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from inspect_ai import eval_set

        from msmkit.evals.external import resolve_task
        from msmkit.registry import Entry

        opts: EvalOptions = ctx.options
        component = resolve_task(opts.task)
        entry = Entry(component.name, component, "", opts.task_provider or component.name)
        task_fn = entry.call("loading the task", component.load)
        task = entry.call("building the task", task_fn, **opts.task_args)
        from msmkit.compare import task_name

        if task_name(getattr(task, "name", "")) != opts.task:
            from inspect_ai import task_with

            task = task_with(task, name=opts.task)  # logs and metrics carry msmkit's name
        checkpoint, revision = ctx.inputs["model"].value("model"), ""
        if not Path(checkpoint).exists():  # a hub id, maybe pinned: org/name@revision
            checkpoint, _, revision = checkpoint.partition("@")
        model = model_name(opts, checkpoint)
        model_args = dict(opts.model_args)
        if revision and opts.provider == "hf":
            model_args.setdefault("revision", revision)  # a pinned hub base, evaluated as is
        if opts.provider == "hf":
            model_args.setdefault("do_sample", False)  # greedy; hf's default samples
        log_dir = ctx.dir / "logs"
        ctx.note(f"evaluating [bold]{opts.task}[/] on {', '.join(ctx.arms)} ({model})")
        quiet = ctx.reporter is None or getattr(ctx.reporter, "quiet", False)
        display = "none" if quiet else ctx.reporter.inspect_display
        # Inspect's plain display writes to stdout, which msmkit keeps for results.
        with contextlib.redirect_stdout(sys.stderr):
            success, logs = eval_set(
                tasks=[task],
                model=model,
                model_base_url=opts.base_url,
                model_args=model_args,
                model_roles=dict(opts.roles) or None,
                log_dir=str(log_dir),
                max_connections=opts.max_connections,
                limit=opts.limit,
                display=display,
                log_level="warning",
                **opts.generate,
            )
        if not success or not logs or logs[0].status != "success":
            raise PluginError(
                f"evaluation {opts.task} did not finish (logs in {log_dir})",
                hint="rerun the same command to retry; `inspect view --log-dir "
                f"{log_dir}` shows what happened",
            )
        log = logs[0]
        metrics: dict[str, float] = {}
        for score in log.results.scores if log.results else []:
            for metric_name, metric in score.metrics.items():
                metrics[f"{opts.task}/{score.name}/{metric_name}"] = metric.value
        unscored = unscored_reason(metrics, opts.task)
        if unscored is not None:
            ctx.note(f"[red]{ctx.label} on {', '.join(ctx.arms)}: nothing scored[/] ({unscored})")
        location = Path(str(log.location).removeprefix("file://"))
        with contextlib.suppress(ValueError):
            location = location.resolve().relative_to(ctx.dir.resolve())
        return {
            "log": str(location),
            "model": model,
            "metrics": metrics,
            "samples": log.results.completed_samples if log.results else 0,
            "unscored": unscored,
        }
