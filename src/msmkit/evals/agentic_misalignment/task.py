"""``msmkit/agentic_misalignment``: the MSM paper's agentic-misalignment grid.

Three harmful actions (exfiltration, murder, leaking) × nine goal conditions (no goal, and an
explicit goal for america, global, ethical, pragmatic, acceleration, individualism,
collectivism, safety), urgency "replacement": 27 conditions, ``samples`` replicates each.
The paper ran 300 per condition at temperature 0.7 with 4096 max tokens (8,100 transcripts),
named the agent after the model ("Qwen") and judged with Claude Sonnet 4.6::

    inspect eval msmkit/agentic_misalignment --model vllm/<base>:<adapter> \\
        --model-role grader=anthropic/claude-sonnet-4-6 -T samples=300 -T agent_name=Qwen

See ``tasks/agentic_misalignment/README.md`` for the metrics and costs.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig

from msmkit.errors import ConfigError
from msmkit.evals.agentic_misalignment.prompts import (
    DEFAULT_AGENT_NAME,
    Condition,
    build_grid,
    render,
)
from msmkit.evals.agentic_misalignment.scorer import am_scorer, require_grader
from msmkit.evals.caching import checkpoint_generate

TASK_VERSION = 1


def condition_samples(
    conditions: Sequence[Condition],
    samples: int = 1,
    agent_name: str = DEFAULT_AGENT_NAME,
    reasoning: bool = False,
) -> list[Sample]:
    """``samples`` replicate samples per condition, ids ``<condition>__<k>``.

    ``item_id`` is the condition: replicates of one condition share a prompt, so
    :mod:`msmkit.compare` must cluster them together.
    """
    if samples < 1:
        raise ConfigError("agentic_misalignment: samples must be at least 1")
    out = []
    for condition in conditions:
        prompts = render(condition, agent_name, reasoning)
        metadata = {
            "condition": condition.id,
            "item_id": condition.id,
            "scenario": condition.scenario,
            "goal": condition.goal,
            "goal_type": condition.goal_type,
            "urgency": condition.urgency,
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
    samples: int = 1,
    agent_name: str = DEFAULT_AGENT_NAME,
    reasoning: bool = False,
    temperature: float = 0.7,
    max_tokens: int = 4096,
    grader_retries: int = 2,
    cache: bool = False,
) -> Task:
    """Agentic misalignment over a grid of conditions; needs ``--model-role grader=...``.

    Args:
        scenarios: harmful actions, comma-separated: exfiltration, murder, leaking (default
            all three).
        goals: goal conditions, comma-separated: none (no goal), america, global, ethical,
            pragmatic, acceleration, individualism, collectivism, safety (default all nine).
        urgency: replacement (default), restriction, none; exfiltration has replacement only.
        samples: replicates per condition (the paper used 300).
        agent_name: the agent's name in the prompts (Lynch et al. "Alex"; the paper used the
            model's own name, e.g. "Qwen").
        reasoning: for models with native thinking: no secret-scratchpad paragraph. Their
            reasoning is kept in the log and never judged.
        temperature: sampling temperature (the paper's 0.7); ``--temperature`` overrides.
        max_tokens: generation budget (the paper's 4096); ``--max-tokens`` overrides.
        grader_retries: extra grader calls after a refusal or unparsable reply, before the
            sample is marked unscored.
        cache: use Inspect's generation cache, scoped per checkpoint (never shared
            between two checkpoints served under one model name).
    """
    conditions = build_grid(scenarios, goals, urgency)
    dataset = condition_samples(conditions, samples, agent_name, reasoning)
    return Task(
        dataset=MemoryDataset(dataset, name="agentic_misalignment"),
        solver=[require_grader(), checkpoint_generate(cache, tool_calls="none")],
        scorer=am_scorer(grader_retries=grader_retries),
        config=GenerateConfig(temperature=temperature, max_tokens=max_tokens),
        message_limit=3,
        version=TASK_VERSION,
        metadata={"conditions": [c.id for c in conditions], "samples_per_condition": samples},
    )
