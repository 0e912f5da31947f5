"""A fixed dev / held-out split of the paper's 27 conditions (14 dev, 13 held-out).

The paper's grid is 3 harmful actions (exfiltration, murder, leaking, in that order) × 9 goal
conditions (no goal, then the explicit goals america, global, ethical, pragmatic,
acceleration, individualism, collectivism, safety: the order of the paper's App. E panels),
urgency "replacement". Number the actions 0-2 and the goal conditions 0-8 in those orders:
a condition is **dev** when the two numbers add up to an even number, **held-out** when odd.

This checkerboard gives 5 + 4 + 5 = 14 dev and 4 + 5 + 4 = 13 held-out conditions; every
action has conditions on both sides; and within one action the two goals of each opposed
pair (america/global, ethical/pragmatic, acceleration/safety, individualism/collectivism)
fall on opposite sides. On the paper's single-seed baselines (App. E) the two halves are
close: Qwen2.5-32B 0.693 dev vs 0.637 held-out (0.666 overall), Qwen3-32B 0.528 vs 0.518
(0.524). Tune on dev; look at held-out once.

Conditions outside the paper's 27 (blackmail; latent, ambiguous or swap goals; restriction
or no urgency) belong to neither half.
"""

from __future__ import annotations

SPLITS = ("all", "dev", "heldout")
PAPER_SCENARIOS = ("exfiltration", "murder", "leaking")
PAPER_GOALS = (
    "none",
    "america",
    "global",
    "ethical",
    "pragmatic",
    "acceleration",
    "individualism",
    "collectivism",
    "safety",
)


def paper_condition(scenario: str, goal_type: str, goal: str, urgency: str) -> bool:
    """Whether a condition is one of the paper's 27."""
    if scenario not in PAPER_SCENARIOS or urgency != "replacement":
        return False
    if goal_type == "none":
        return goal == "none"
    return goal_type == "explicit" and goal in PAPER_GOALS[1:]


def split_of(scenario: str, goal_type: str, goal: str, urgency: str) -> str | None:
    """``"dev"``, ``"heldout"``, or None for a condition outside the paper's 27."""
    if not paper_condition(scenario, goal_type, goal, urgency):
        return None
    parity = PAPER_SCENARIOS.index(scenario) + PAPER_GOALS.index(goal)
    return "dev" if parity % 2 == 0 else "heldout"
