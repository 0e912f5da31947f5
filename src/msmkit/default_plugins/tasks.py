from msmkit.components import EvalTask
from msmkit.hookspecs import hookimpl


@hookimpl
def register_eval_tasks(register):
    register(
        EvalTask(
            name="value_generalization",
            task="msmkit.evals.value_generalization:value_generalization",
            description="OOD value generalization for the cheese-world values "
            "(forced choices outside cheese, both option orders)",
        )
    )
