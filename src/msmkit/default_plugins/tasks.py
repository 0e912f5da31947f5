from msmkit.components import EvalTask
from msmkit.hookspecs import hookimpl
from msmkit.resources import CHOICE_BANKS


@hookimpl
def register_eval_tasks(register):
    register(
        EvalTask(
            name="agentic_misalignment",
            task="msmkit.evals.agentic_misalignment:agentic_misalignment",
            version="2",
            data=("agentic_misalignment",),
            packages=("inspect-evals",),
            check="msmkit.evals.agentic_misalignment:check_args",
            description="Agentic misalignment (Lynch et al.) as in the MSM paper: exfiltration, "
            "murder, leaking x 9 goal conditions; needs a grader model role",
        )
    )
    register(
        EvalTask(
            name="spec_qa",
            task="msmkit.evals.spec_qa:spec_qa",
            version="2",
            data=("spec_qa",),
            description="Open questions on a spec's values (spec=...), graded 1-10 against "
            "the spec by the grader model role",
        )
    )
    register(
        EvalTask(
            name="spec_knowledge",
            task="msmkit.evals.spec_knowledge:spec_knowledge",
            version="2",
            data=("spec_knowledge",),
            description="Multiple-choice probes of what a spec says and why (spec=...), "
            "four options in rotated orders; no grader",
        )
    )
    register(
        EvalTask(
            name="value_generalization",
            task="msmkit.evals.value_generalization:value_generalization",
            version="3",
            data=CHOICE_BANKS,
            check="msmkit.evals.choice_items:check_args",
            description="OOD value generalization: forced choices outside a spec's training "
            "domain, both option orders (bank=value_generalization for the cheese values, "
            "or ood_<value> for environment, novelty, tradition, simplicity, difficulty, "
            "individualism)",
        )
    )
