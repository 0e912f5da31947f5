"""A test plugin for the run machinery: an instant backend, a countable generator, an eval
task, and three stage kinds of its own (a corpus filter, a filter with an editable
intermediate file, and a base model from a fake external job that must be waited on).

Run ``python tests/stage_plugins.py ARGS...`` to get the real ``msmkit`` CLI with this plugin
registered (for tests that need separate processes).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import ClassVar

import msmkit
from msmkit.components import Estimate, EvalTask, Options, TrainJob
from msmkit.corpus import Document
from msmkit.errors import OptionError
from msmkit.stagekit import StageContext, StillWaiting


def _count(env: str, line: str) -> None:
    """Append one line to the file named by ``$env`` (how tests count calls across processes)."""
    path = os.environ.get(env)
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


class CopyOptions(Options):
    fail: bool = False
    lr: float = 1.0


class CopyBackend:
    """Pretends to train: copies the input model folder and notes what it saw."""

    name = "copy"
    description = "test backend"
    Options: ClassVar[type[Options]] = CopyOptions
    requires = ()
    calls: ClassVar[list[tuple[str, str]]] = []

    def validate(self, stage, options, base_model) -> None:
        if options.lr <= 0:
            raise OptionError("must be positive", loc=("lr",), hint="e.g. 1e-4")

    def plan(self, job: TrainJob) -> Estimate:
        return Estimate(job.stage)

    def train(self, job: TrainJob) -> Path:
        if job.options.fail:
            _count("MSMKIT_TEST_FAIL_LOG", f"{job.stage} {os.getpid()}")
            raise ValueError("simulated crash")
        CopyBackend.calls.append((job.stage, job.base_model))
        time.sleep(float(os.environ.get("MSMKIT_TEST_TRAIN_SLEEP", "0")))  # a slow "training"
        rows = [line for line in job.data.read_text().splitlines() if line.strip()]
        _count("MSMKIT_TEST_TRAIN_LOG", f"{job.stage} {len(rows)}")
        shutil.copytree(job.base_model, job.output_dir)
        (job.output_dir / f"{job.stage}.txt").write_text(job.data.read_text())
        if job.progress:
            job.progress(1, 1)
        return job.output_dir


class EchoOptions(Options):
    n: int = 3
    explode_at: int | None = None
    sleep: float = 0.0


class EchoGenerator:
    name = "echo"
    description = "test generator"
    version = "1"
    Options: ClassVar[type[Options]] = EchoOptions

    def plan(self, spec, options) -> Estimate:
        return Estimate("generate", items=options.n)

    def generate(self, spec, options, *, skip=frozenset()):
        for i in range(options.n):
            if i == options.explode_at:
                raise KeyError("generator bug")
            if f"d{i}" in skip:
                continue
            time.sleep(options.sleep)
            _count("MSMKIT_TEST_GEN_LOG", f"{spec.name} d{i} {os.getpid()}")
            yield Document(
                id=f"d{i}",
                text=f"{spec.subject} doc {i}",
                doc_type="echo",
                principle=None,
                spec_name=spec.name,
                spec_hash=spec.hash,
                generator=self.name,
                generator_version=self.version,
                settings=options.model_dump(),
            )


def _noop_task():
    return None


def _rewrite_corpus(ctx: StageContext, fn) -> dict:
    src = ctx.inputs["corpus"].path("corpus")
    out = ctx.dir / "corpus.jsonl"
    rows = [json.loads(line) for line in src.read_text().splitlines() if line.strip()]
    with out.open("w") as f:
        for row in rows:
            row["text"] = fn(row["text"])
            f.write(json.dumps(row) + "\n")
    return {"corpus": "corpus.jsonl", "documents": len(rows)}


class ShoutOptions(Options):
    suffix: str = "!"


class Shout:
    """corpus -> corpus: upper-case every document."""

    name = "shout"
    description = "Upper-case every document (test filter)"
    version = "1"
    Options: ClassVar[type[Options]] = ShoutOptions
    consumes: ClassVar[dict[str, str]] = {"corpus": "corpus"}
    produces: ClassVar[str] = "corpus"
    resumable: ClassVar[bool] = False
    runs: ClassVar[int] = 0

    def estimate(self, options, upstream):
        return Estimate("shout", items=upstream["corpus"].items)

    def run(self, ctx: StageContext) -> dict:
        Shout.runs += 1
        _count("MSMKIT_TEST_STAGE_LOG", "shout")
        return _rewrite_corpus(ctx, lambda t: t.upper() + ctx.options.suffix)


class Append:
    """corpus -> corpus: appends the words listed in an editable ``words.txt``."""

    name = "append-words"
    description = "Append words from an intermediate file a user may edit (test filter)"
    version = "1"
    Options: ClassVar[type[Options]] = Options
    consumes: ClassVar[dict[str, str]] = {"corpus": "corpus"}
    produces: ClassVar[str] = "corpus"
    resumable: ClassVar[bool] = False

    def estimate(self, options, upstream):
        return Estimate("append-words")

    def run(self, ctx: StageContext) -> dict:
        _count("MSMKIT_TEST_STAGE_LOG", "append-words")
        words = ctx.intermediate("words.txt", lambda: "alpha\nbeta\n").split()
        return _rewrite_corpus(ctx, lambda t: t + " " + " ".join(words))


class JobOptions(Options):
    service: str  # a folder standing in for a cluster or batch API
    poll_seconds: float = 30.0


class ExternalBase:
    """A base model made by a fake external job: submit once, save the job id, wait."""

    name = "external-base"
    description = "A base model from a fake external job (test)"
    version = "1"
    Options: ClassVar[type[Options]] = JobOptions
    consumes: ClassVar[dict[str, str]] = {}
    produces: ClassVar[str] = "model"
    resumable: ClassVar[bool] = True

    def estimate(self, options, upstream):
        return Estimate("external-base", notes=["submits one job"])

    def run(self, ctx: StageContext) -> dict:
        service = Path(ctx.options.service)
        state = ctx.waiting_state()
        if state is None:
            job_id = f"job-{len(list(service.glob('*.submitted'))) + 1}"
            (service / f"{job_id}.submitted").write_text(str(os.getpid()))
            ctx.set_waiting({"job_id": job_id})
        else:
            job_id = state["job_id"]
        deadline = time.monotonic() + ctx.options.poll_seconds
        result = service / f"{job_id}.result"
        while not result.exists():
            if time.monotonic() > deadline:
                raise StillWaiting(f"{job_id} is still running")
            time.sleep(0.05)
        model = ctx.dir / "model"
        model.mkdir(exist_ok=True)
        (model / "config.json").write_text(result.read_text())
        return {"model": "model", "job": job_id}


class QueuedCopyBackend(CopyBackend):
    """The copy backend, declared launchable so its jobs go through an executor."""

    name = "copy-queued"
    launchable = True


class QueueOptions(Options):
    service: str  # a folder standing in for a cluster's queue


class QueueExecutor:
    """A fake cluster queue: submits once (saving the job id first), then waits until the
    test releases the job; a rerun collects the same job and runs it."""

    name = "fake-queue"
    description = "A fake cluster queue (test executor)"
    Options: ClassVar[type[Options]] = QueueOptions

    def check(self, settings, options, backend) -> None:
        if not Path(options.service).is_dir():
            raise OptionError("no such folder", loc=("options", "service"))

    def world_size(self, settings, options) -> int:
        return 1

    def run(self, job, settings, options, ctx):
        service = Path(options.service)
        state = ctx.waiting_state()
        if state is None:
            job_id = f"job-{len(list(service.glob('*.submitted'))) + 1}"
            (service / f"{job_id}.submitted").write_text(json.dumps(job.payload))
            ctx.set_waiting({"job_id": job_id})
        else:
            job_id = state["job_id"]
        if not (service / f"{job_id}.release").exists():
            raise StillWaiting(f"{job_id} is queued")
        job.inline()
        return job.output


class SpecChats:
    """spec -> chats: one demonstration per principle of the arm's spec (after variants)."""

    name = "spec-chats"
    description = "Chats that quote each principle (test kind consuming the spec)"
    version = "1"
    Options: ClassVar[type[Options]] = Options
    consumes: ClassVar[dict[str, str]] = {"spec": "spec"}
    produces: ClassVar[str] = "chats"
    resumable: ClassVar[bool] = False

    def estimate(self, options, upstream):
        spec = upstream["spec"].artifact
        return Estimate("spec-chats", items=len(spec.principles) if spec else 0)

    def run(self, ctx: StageContext) -> dict:
        from msmkit.stages.spec import load_spec_input

        spec = load_spec_input(ctx.inputs["spec"])
        _count("MSMKIT_TEST_STAGE_LOG", f"spec-chats {spec.name} {len(spec.lineage)}")
        with (ctx.dir / "chats.jsonl").open("w") as f:
            for p in spec.principles:
                chat = [
                    {"role": "user", "content": f"What about {p.title}?"},
                    {"role": "assistant", "content": f"{p.rule} {p.explanation or ''}".strip()},
                ]
                f.write(json.dumps({"messages": chat}) + "\n")
        return {"data": "chats.jsonl", "items": len(spec.principles), "spec": spec.name}


class ScoreModel:
    """model -> eval: a stand-in eval that scores a copied model by what it was trained on."""

    name = "score-model"
    description = "Count the training files in a model folder (test eval kind)"
    version = "1"
    Options: ClassVar[type[Options]] = Options
    consumes: ClassVar[dict[str, str]] = {"model": "model"}
    produces: ClassVar[str] = "eval"
    resumable: ClassVar[bool] = False

    def estimate(self, options, upstream):
        return Estimate("score-model")

    def run(self, ctx: StageContext) -> dict:
        model = ctx.inputs["model"].path("model")
        trained = sorted(p.name for p in model.glob("*.txt"))
        return {"score": len(trained), "trained": trained, "budget": ctx.budget_usd}


class ArmReport:
    """Every arm's evals -> one report (a kind across arms)."""

    name = "arm-report"
    description = "One report over every arm's evals (test kind across arms)"
    version = "1"
    Options: ClassVar[type[Options]] = Options
    consumes: ClassVar[dict[str, str]] = {"eval*": "eval"}
    produces: ClassVar[str] = "report"
    resumable: ClassVar[bool] = False

    def estimate(self, options, upstream):
        return Estimate("arm-report", items=len(upstream))

    def run(self, ctx: StageContext) -> dict:
        _count("MSMKIT_TEST_STAGE_LOG", "arm-report")
        rows = {slot: dict(up.outputs) for slot, up in sorted(ctx.inputs.items())}
        (ctx.dir / "report.json").write_text(json.dumps(rows, indent=2))
        return {"report": "report.json", "evals": len(rows)}


class TestPlugin:
    @msmkit.hookimpl
    def register_training_backends(self, register):
        register(CopyBackend())
        register(QueuedCopyBackend())

    @msmkit.hookimpl
    def register_executors(self, register):
        register(QueueExecutor())

    @msmkit.hookimpl
    def register_doc_generators(self, register):
        register(EchoGenerator())

    @msmkit.hookimpl
    def register_eval_tasks(self, register):
        register(EvalTask("noop", "stage_plugins:_noop_task", "does nothing"))

    @msmkit.hookimpl
    def register_stage_kinds(self, register):
        register(Shout())
        register(Append())
        register(ExternalBase())
        register(SpecChats())
        register(ScoreModel())
        register(ArmReport())


def main(argv: list[str]) -> None:
    from msmkit.cli import main as cli_main
    from msmkit.plugins import register_plugin

    register_plugin(TestPlugin(), "test-plugin")
    cli_main(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main(sys.argv[1:])
