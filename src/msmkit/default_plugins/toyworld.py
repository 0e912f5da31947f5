"""The toy world of ``msmkit demo``: its generator, stage kinds and eval task, as a plugin."""

from msmkit.components import EvalTask
from msmkit.hookspecs import hookimpl


@hookimpl
def register_doc_generators(register):
    from msmkit.toyworld.generator import ToyWorldGenerator

    register(ToyWorldGenerator())


@hookimpl
def register_stage_kinds(register):
    from msmkit.toyworld.stages import ToyAFTKind, ToyBaseKind

    register(ToyBaseKind())
    register(ToyAFTKind())


@hookimpl
def register_eval_tasks(register):
    register(
        EvalTask(
            name="toy_world",
            task="msmkit.toyworld.task:toy_world",
            description="Toy world OOD preferences (held-out domains, conflict and agree "
            "pairs, both orders), scored by answer log-probabilities",
        )
    )
