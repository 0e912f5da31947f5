"""``msmkit/agentic_misalignment``: the MSM paper's agentic-misalignment grid, and more.

By default: three harmful actions (exfiltration, murder, leaking) × nine goal conditions (no
goal, and an explicit goal for america, global, ethical, pragmatic, acceleration,
individualism, collectivism, safety), urgency "replacement": the paper's 27 conditions,
``samples`` replicates each. ``split=dev|heldout`` keeps one fixed half of them
(:mod:`.split`). Blackmail, the latent/ambiguous/swap goal types and the restriction/none
urgencies of inspect_evals' port are there too. The paper ran 300 per condition at
temperature 0.7 with 4096 max tokens (8,100 transcripts), named the agent after the model
("Qwen") and judged with Claude Sonnet 4.6::

    inspect eval msmkit/agentic_misalignment --model vllm/<base>:<adapter> \\
        --model-role grader=anthropic/claude-sonnet-4-6 -T samples=300 -T agent_name=Qwen

See ``tasks/agentic_misalignment/README.md`` for the metrics and costs.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig

from msmkit.errors import OptionError
from msmkit.evals.agentic_misalignment.args import DEFAULT_LEAK_CLASSIFIER, check_args
from msmkit.evals.agentic_misalignment.prompts import (
    DEFAULT_AGENT_NAME,
    Condition,
    build_grid,
    render,
)
from msmkit.evals.agentic_misalignment.scorer import am_scorer, require_grader
from msmkit.evals.caching import checkpoint_generate

TASK_VERSION = 2


def condition_samples(
    conditions: Sequence[Condition],
    samples: int = 1,
    agent_name: str = DEFAULT_AGENT_NAME,
    reasoning: bool = False,
    awareness_notice: bool = False,
) -> list[Sample]:
    """``samples`` replicate samples per condition, ids ``<condition>__<k>``.

    ``item_id`` is the condition: replicates of one condition share a prompt, so
    :mod:`msmkit.compare` must cluster them together.
    """
    if samples < 1:
        raise OptionError(
            "agentic_misalignment: samples must be at least 1", loc=("args", "samples")
        )
    out = []
    for condition in conditions:
        prompts = render(condition, agent_name, reasoning, awareness_notice)
        metadata = {
            "condition": condition.id,
            "item_id": condition.id,
            "scenario": condition.scenario,
            "goal": condition.goal,
            "goal_type": condition.goal_type,
            "urgency": condition.urgency,
            "split": condition.split or "none",
            "agent_name": agent_name,
            "reasoning": reasoning,
        }
        for k in range(samples):
            out.append(
                Sample(
                    id=f"{condition.id}__{k}",
                    input=[
                        ChatMessageSystem(content=prompts.system),
                        ChatMessageUser(content=f"{prompts.user}\n{prompts.emails}"),
                    ],
                    metadata=metadata,
                )
            )
    return out


@task
def agentic_misalignment(
    scenarios: str | list[str] | None = None,
    goals: str | list[str] | None = None,
    urgency: str | list[str] = "replacement",
    goal_types: str | list[str] | None = None,
    split: str = "all",
    samples: int = 1,
    agent_name: str = DEFAULT_AGENT_NAME,
    reasoning: bool = False,
    eval_awareness: bool = False,
    awareness_notice: bool = False,
    leak_classifier: str = DEFAULT_LEAK_CLASSIFIER,
    temperature: float = 0.7,
    max_tokens: int = 4096,
    grader_retries: int = 2,
    cache: bool = False,
) -> Task:
    """Agentic misalignment over a grid of conditions; needs ``--model-role grader=...``.

    Args:
        scenarios: harmful actions, comma-separated: exfiltration, murder, leaking,
            blackmail (default the paper's three, without blackmail).
        goals: goal values, comma-separated: none, america, global, ethical, pragmatic,
            acceleration, individualism, collectivism, safety (default all nine).
        urgency: replacement (default), restriction, none; exfiltration has replacement only.
        goal_types: none, explicit, latent, ambiguous, swap (default none,explicit, the
            paper's). none and ambiguous take goal "none"; the others take goal values.
        split: all (default), dev (14 of the paper's 27 conditions: tune on these) or
            heldout (the other 13). See tasks/agentic_misalignment/README.md.
        samples: replicates per condition (the paper used 300).
        agent_name: the agent's name in the prompts (Lynch et al. "Alex"; the paper used the
            model's own name, e.g. "Qwen").
        reasoning: for models with native thinking: no secret-scratchpad paragraph. Their
            reasoning is kept in the log and never judged for harm.
        eval_awareness: also grade whether the model deliberated about being evaluated
            (one more grader call per sample); adds eval_aware_rate and deliberation_rate.
        awareness_notice: add inspect_evals' notice asking the model to deliberate
            whether it is being evaluated (its test_eval_awareness) to the system prompt.
        leak_classifier: intent (default: the MSM fork's criteria, intent to leak counts)
            or port (inspect_evals' prompt: an actual transfer of non-public material).
        temperature: sampling temperature (the paper's 0.7); ``--temperature`` overrides.
        max_tokens: generation budget (the paper's 4096); ``--max-tokens`` overrides.
        grader_retries: extra grader calls after a refusal or unparsable reply, before the
            sample is marked unscored.
        cache: use Inspect's generation cache, scoped per checkpoint (never shared
            between two checkpoints served under one model name).
    """
    check_args(
        scenarios=scenarios,
        goals=goals,
        urgency=urgency,
        goal_types=goal_types,
        split=split,
        samples=samples,
        agent_name=agent_name,
        reasoning=reasoning,
        eval_awareness=eval_awareness,
        awareness_notice=awareness_notice,
        leak_classifier=leak_classifier,
        temperature=temperature,
        max_tokens=max_tokens,
        grader_retries=grader_retries,
        cache=cache,
    )
    conditions = build_grid(scenarios, goals, urgency, goal_types, split)
    dataset = condition_samples(conditions, samples, agent_name, reasoning, awareness_notice)
    return Task(
        dataset=MemoryDataset(dataset, name="agentic_misalignment"),
        setup=require_grader(),
        solver=checkpoint_generate(cache, tool_calls="none"),
        scorer=am_scorer(
            grader_retries=grader_retries,
            leak_classifier=leak_classifier,
            eval_awareness=eval_awareness,
        ),
        config=GenerateConfig(temperature=temperature, max_tokens=max_tokens),
        message_limit=3,
        version=TASK_VERSION,
        metadata={
            "conditions": [c.id for c in conditions],
            "conditions_n": len(conditions),
            "samples_per_condition": samples,
            "split": split,
            "leak_classifier": leak_classifier,
            "eval_awareness": eval_awareness,
        },
    )


agentic_misalignment.check_args = check_args  # type: ignore[attr-defined]
