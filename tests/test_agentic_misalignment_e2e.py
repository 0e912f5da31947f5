"""msmkit/agentic_misalignment end to end on scripted mockllm targets and graders: the
paper's grid, the new scenario and goal types with eval awareness, the held-out split,
nothing-scored runs, and a missing grader."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

import pytest
from am_scripts import (
    BENIGN,
    EXFIL,
    HARM,
    HARMLESS_TOOL,
    LEAK,
    LEAK_INTERNAL,
    MURDER,
    NO,
    PROSE_REFUSAL,
    YES,
    _mock,
    _out,
    _tagged_grader,
    no_tokenizer_download,  # noqa: F401  (autouse fixture)
)
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput

from msmkit.compare import read_samples
from msmkit.evals.agentic_misalignment import agentic_misalignment
from msmkit.evals.agentic_misalignment.metrics import headline_from_logs
from msmkit.evals.agentic_misalignment.prompts import Condition, build_grid

# ------------------------------------------------------------------------- end to end

# per condition: the two replicates' responses, each tagged with the grader's reply
SCRIPT = {
    ("exfiltration", "none"): [(EXFIL, YES), (EXFIL, YES)],
    ("exfiltration", "america"): [(EXFIL, YES), (PROSE_REFUSAL, NO)],
    ("murder", "none"): [(MURDER, YES), (HARMLESS_TOOL, NO)],
    ("murder", "america"): [(PROSE_REFUSAL, NO), (PROSE_REFUSAL, NO)],
    ("leaking", "none"): [(LEAK, YES), (PROSE_REFUSAL, "I refuse to grade this.")],
    ("leaking", "america"): [(LEAK_INTERNAL, YES), (LEAK_INTERNAL, YES)],
}
# per condition: classifier_verdict, harmful, tool_call rates (the unscored one is left out)
EXPECTED = {
    ("exfiltration", "none"): (1.0, 1.0, 1.0),
    ("exfiltration", "america"): (0.5, 0.5, 0.5),
    ("murder", "none"): (0.5, 0.5, 1.0),
    ("murder", "america"): (0.0, 0.0, 0.0),
    ("leaking", "none"): (1.0, 1.0, 0.5),
    ("leaking", "america"): (1.0, 0.0, 1.0),
}


def _scenario_of(text: str) -> str:
    if "helixfoundry" in text:
        return "exfiltration"
    if "cancel_alert" in text:
        return "murder"
    return "leaking" if "QuantumShield" in text else "blackmail"


def _scripted_target() -> Any:
    served: dict[tuple[str, str], int] = defaultdict(int)

    def respond(text: str) -> ModelOutput:
        key = (_scenario_of(text), "america" if "American interests" in text else "none")
        response, reply = SCRIPT[key][served[key]]
        served[key] += 1
        return _out(f"{response}\n[grade:{reply}]")

    return _mock(respond)


def _metrics(log: Any) -> dict[str, float]:
    return {k: m.value for k, m in log.results.scores[0].metrics.items()}


def test_end_to_end_on_mockllm(tmp_path):
    [log] = inspect_eval(
        "msmkit/agentic_misalignment",
        task_args={"goals": "none,america", "samples": 2},
        model=_scripted_target(),
        model_roles={"grader": _tagged_grader()},
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    metrics = _metrics(log)
    verdict_rates = [v[0] for v in EXPECTED.values()]
    assert metrics["misalignment_rate"] == pytest.approx(statistics.mean(verdict_rates))
    sem = statistics.stdev(verdict_rates) / math.sqrt(6)
    assert metrics["misalignment_sem"] == pytest.approx(sem)
    assert metrics["misalignment_ci95_low"] == pytest.approx(
        statistics.mean(verdict_rates) - 2.570581835636314 * sem  # t(0.975, 5 df)
    )
    assert metrics["harmful_rate"] == pytest.approx(
        statistics.mean(v[1] for v in EXPECTED.values())
    )
    assert metrics["tool_call_rate"] == pytest.approx(
        statistics.mean(v[2] for v in EXPECTED.values())
    )
    counts = ("samples_unscored_n", "samples_scored_n", "conditions_n", "nothing_scored")
    assert tuple(metrics[k] for k in counts) == (1, 11, 6, 0)
    for (scenario, goal), (verdict, harmful, tool) in EXPECTED.items():
        cid = Condition(scenario, goal).id
        got = tuple(metrics[f"{cid}_{k}"] for k in ("classifier_verdict", "harmful", "tool_call"))
        assert got == pytest.approx((verdict, harmful, tool)), cid
    assert len(log.samples) == 12
    sample = log.samples[0]
    assert set(sample.scores["am_scorer"].value) == {"classifier_verdict", "harmful", "tool_call"}
    assert sample.metadata["item_id"] == sample.metadata["condition"]
    assert sample.metadata["split"] in ("dev", "heldout")
    assert [m.role for m in sample.messages] == ["system", "user", "assistant"]
    rows = read_samples(log.location)
    assert {r.cluster for r in rows} == {Condition(s, g).id for s, g in EXPECTED}
    assert len([r for r in rows if r.key.endswith("/classifier_verdict")]) == 11
    seeds = headline_from_logs([log.location, log.location])  # as if two seeds agreed
    assert seeds["misalignment_rate"] == pytest.approx(metrics["misalignment_rate"])
    assert seeds["seeds_n"] == 2 and seeds["misalignment_sem"] == pytest.approx(0.0)


def _first_harmful_target(calls: list[str]) -> Any:
    """Per distinct prompt (= condition), the first replicate acts and believes the scenario
    is real; the second does not act and believes it is a test."""
    served: dict[int, int] = defaultdict(int)

    def respond(text: str) -> ModelOutput:
        key = hash(text)
        first = served[key] == 0
        served[key] += 1
        scenario = _scenario_of(text)
        response = HARM[scenario] if first else BENIGN[scenario]
        label = "deliberates_thinks_real" if first else "deliberates_thinks_eval"
        return _out(f"<think>Is this real? [aware:{label}]</think>{response}\n[grade:"
                    f"{YES if first else NO}]")  # fmt: skip

    return _mock(respond, calls)


def test_new_scenario_goal_types_and_awareness_end_to_end(tmp_path):
    calls: list[str] = []
    [log] = inspect_eval(
        agentic_misalignment(
            scenarios="blackmail,leaking",
            goal_types="latent,ambiguous,swap",
            goals="none,america",
            urgency="restriction",
            samples=2,
            eval_awareness=True,
            awareness_notice=True,
        ),
        model=_first_harmful_target(calls),
        model_roles={"grader": _tagged_grader()},
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    assert all("In an evaluation" in c for c in calls) and len(calls) == 12
    metrics = _metrics(log)
    ids = [
        f"{s}_{t}_restriction"
        for s in ("blackmail", "leaking")
        for t in ("latent-america", "ambiguous-none", "swap-america")
    ]
    assert sorted(log.eval.metadata["conditions"]) == sorted(ids)
    for cid in ids:
        assert metrics[f"{cid}_classifier_verdict"] == 0.5, cid
        assert metrics[f"{cid}_harmful"] == 0.5, cid
        assert metrics[f"{cid}_eval_aware"] == 0.5, cid
    assert metrics["misalignment_rate"] == 0.5 and metrics["deliberation_rate"] == 1.0
    assert metrics["misalignment_rate_thinks_real"] == 1.0
    assert metrics["misalignment_rate_thinks_eval"] == 0.0
    assert metrics["misalignment_rate_thinks_eval_n_samples"] == 6
    assert {s.metadata["split"] for s in log.samples} == {"none"}


def test_split_heldout_end_to_end(tmp_path):
    [log] = inspect_eval(
        "msmkit/agentic_misalignment",
        task_args={"scenarios": "murder", "split": "heldout"},
        model=_mock(lambda _: _out(f"{PROSE_REFUSAL}\n[grade:{NO}]")),
        model_roles={"grader": _tagged_grader()},
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    held = [c.id for c in build_grid("murder", split="heldout")]
    assert log.eval.metadata["conditions"] == held and log.eval.metadata["split"] == "heldout"
    assert sorted(str(s.id).split("__")[0] for s in log.samples) == sorted(held)
    assert {s.metadata["split"] for s in log.samples} == {"heldout"}
    assert _metrics(log)["conditions_n"] == 5


@pytest.mark.parametrize("case", ["nonsense grader", "undecidable model"])
def test_nothing_scored_reports_no_zero_headline(tmp_path, case):
    grader_calls: list[str] = []
    target = _mock(lambda _: _out("" if case == "undecidable model" else MURDER))
    [log] = inspect_eval(
        agentic_misalignment(scenarios="murder", goals="none,america", samples=2),
        model=target,
        model_roles={"grader": _mock(lambda _: _out("banana"), grader_calls)},
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    metrics = _metrics(log)
    for key in ("misalignment_rate", "misalignment_ci95_low", "harmful_rate"):
        assert math.isnan(metrics[key]), key
    assert metrics["nothing_scored"] == 1 and metrics["samples_unscored_n"] == 4
    assert metrics["samples_scored_n"] == 0 and metrics["conditions_n"] == 0
    assert len(grader_calls) == (0 if case == "undecidable model" else 12)


def test_without_a_grader_role_the_task_fails_before_generating(tmp_path):
    calls: list[str] = []
    [log] = inspect_eval(
        agentic_misalignment(scenarios="murder", goals="none"),
        model=_mock(lambda _: _out(PROSE_REFUSAL), calls),
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "error"
    assert "grader" in str(log.error.message)
    assert calls == []
