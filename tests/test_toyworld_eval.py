"""The toy world on a tiny scale: the base stage and its probes, the Inspect task, the verdict."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from msmkit.toyworld import world

TINY = {
    "model": {
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_layers": 1,
        "num_heads": 2,
        "num_kv_heads": 2,
    },
    "pretrain": {"max_steps": 12, "min_steps": 0, "probe_every": 6, "seq_len": 32, "batch_size": 4},
}


def _run_base(tmp_path, **extra):
    from msmkit.run.store import StageDir
    from msmkit.stagekit import StageContext
    from msmkit.toyworld.stages import ToyBaseKind, ToyBaseOptions

    opts = ToyBaseOptions.model_validate({**TINY, **extra})
    ctx = StageContext(
        dir=tmp_path, options=opts, inputs={}, stage=StageDir("toyworld-base", "k", tmp_path)
    )
    return ToyBaseKind().run(ctx)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy-base")
    return folder, _run_base(folder, on_probe_fail="report")


@pytest.mark.slow
def test_probe_phrasings_are_held_out() -> None:
    probes = world.knowledge_probes()
    assert len(probes) == len(world.item_bank()) * 2 * len(world.PROBE_FRAMES) * 2
    corpus = "\n".join(world.pretraining_documents(0, 5000))
    for frame in world.PROBE_FRAMES:
        assert frame not in world.TRAIN_FRAMES
        head = frame.split(" {item}")[0]
        assert f"{head} " not in corpus
    for p in probes:
        assert {p.right, p.wrong} <= {w for pair in world.WORDS[p.attribute] for w in pair}


@pytest.mark.slow
def test_an_untrained_model_fails_the_probes_and_the_stage_reports_it(tiny_base) -> None:
    folder, out = tiny_base
    assert out["probes_passed"] is False
    assert set(out["probes"]) == {"price", "origin", "format", "answer_mass"}
    assert 0 < out["probes"]["answer_mass"] < 1
    assert [p["step"] for p in out["curve"]] == [6, 12]
    assert (folder / "model" / "config.json").is_file()
    assert (folder / "pretrain.json").is_file()


@pytest.mark.slow
def test_the_stage_fails_clearly_when_probes_are_low(tmp_path) -> None:
    from msmkit.toyworld.stages import ProbeError

    with pytest.raises(ProbeError, match="does not know the world"):
        _run_base(tmp_path)
    assert not (tmp_path / "model").exists()


@pytest.mark.slow
def test_the_format_and_answer_mass_probes_gate_the_base_when_asked(tmp_path) -> None:
    from msmkit.toyworld.stages import ProbeError

    for sub in "abc":
        (tmp_path / sub).mkdir()
    with pytest.raises(ProbeError, match=r"answer mass 0\.\d\d \(need 0\.99\)") as err:
        _run_base(tmp_path / "a", min_probe=0.0, min_answer_mass=0.99)
    assert "price" not in err.value.message  # only what falls short is named
    with pytest.raises(ProbeError, match=r"format 0\.\d\d \(need 1\.0\)"):
        _run_base(tmp_path / "b", min_probe=0.0, min_format=1.0)
    out = _run_base(tmp_path / "c", min_probe=0.0)  # reported, not gated, by default
    assert out["probes_passed"] and 0 < out["probes"]["answer_mass"] < 1


@pytest.mark.slow
def test_option_logprobs_reads_names_and_floors_missing_ones() -> None:
    from msmkit.toyworld.task import option_logprobs

    def top(token, lp):
        return SimpleNamespace(token=token, logprob=lp)

    position = SimpleNamespace(
        token="bavok", logprob=-0.1, top_logprobs=[top("bavok", -0.1), top("the", -3.0)]
    )
    lps = option_logprobs(SimpleNamespace(content=[position]), ("bavok", "tirel"))
    assert lps == (-0.1, -3.0)
    assert option_logprobs(None, ("a", "b")) is None


def test_answer_mass_is_read_on_the_held_out_pairs_apart_from_the_aft_check() -> None:
    """The readout the verdict uses is the held-out pairs': a model that answers the AFT
    cheese pairs in prose (low mass there) must not pull the held-out mass down, nor the
    reverse."""
    import math

    from inspect_ai.scorer import SampleScore, Score

    from msmkit.toyworld.task import KEYS, sample_values, toy_rates

    def sample(kind: str, p_cheap: float, p_dear: float, cheap_first: bool = True) -> dict:
        meta = {"kind": kind, "cheap_first": cheap_first}
        return {
            **dict.fromkeys(KEYS),
            **sample_values(meta, math.log(p_cheap), math.log(p_dear)),
        }

    held = [sample("conflict", 0.6, 0.3), sample("agree", 0.2, 0.7, cheap_first=False)]
    aft = [sample("aft_check", 0.05, 0.01), sample("aft_check", 0.02, 0.02)]
    assert held[0]["option_mass"] == pytest.approx(0.9) and held[0]["aft_check_mass"] is None
    assert aft[0]["aft_check_mass"] == pytest.approx(0.06) and aft[0]["option_mass"] is None
    assert held[1]["agree_cheap"] == 0 and held[1]["first"] == 1  # the dear item listed first
    scores = [SampleScore(score=Score(value=v), sample_id=str(i)) for i, v in enumerate(held + aft)]
    rates = toy_rates()(scores)
    assert rates["option_mass"] == pytest.approx((0.9 + 0.9) / 2)
    assert rates["aft_check_mass"] == pytest.approx((0.06 + 0.04) / 2)
    assert rates["conflict_cheap"] == 1 and rates["agree_cheap"] == 0
    only_aft = toy_rates()(scores[2:])
    assert "option_mass" not in only_aft  # no held-out pair scored: absent, not 0.0


@pytest.mark.slow
def test_the_eval_and_the_verdict_on_a_tiny_model(tiny_base, tmp_path) -> None:
    from inspect_ai import eval as inspect_eval

    from msmkit.compare import read_samples
    from msmkit.toyworld import report
    from msmkit.toyworld.task import toy_world

    folder, _ = tiny_base

    def run(batched: bool):
        (log,) = inspect_eval(
            toy_world(kinds="conflict", batched=batched),
            model=f"hf/{folder / 'model'}",
            model_args={"device": "cpu", "do_sample": False},
            log_dir=str(tmp_path / str(batched)),
            display="none",
            max_connections=64,
        )
        assert log.status == "success"
        return log

    log, generated = run(batched=True), run(batched=False)  # one pass; one generation each
    conflicts = [p for p in world.eval_pairs() if p.kind == "conflict"]
    assert len(log.samples) == len(generated.samples) == 2 * len(conflicts)
    for sample in log.samples:
        value = sample.scores["cheap_choice"].value
        assert sample.metadata["kind"] == "conflict"
        assert value["conflict_cheap"] in (0, 1)
        assert value["first"] in (0, 1) and 0 < value["option_mass"] <= 1
        assert value["agree_cheap"] is None and value["aft_check_cheap"] is None
        assert (value["conflict_logit"] > 0) == bool(value["conflict_cheap"])
        assert "batched" in sample.output.metadata["scored_by"]
    # the batched pass gives the generation's numbers: the outside-Inspect scorer, and the
    # task's batched solver, against one generation a sample
    from msmkit.toyworld.scoring import score_checkpoint
    from msmkit.toyworld.task import toy_samples

    samples = toy_samples(kinds=("conflict",))
    outside = dict(
        zip([s.id for s in samples], score_checkpoint(folder / "model", samples), strict=True)
    )
    inside = {s.id: s.scores["cheap_choice"].value["conflict_logit"] for s in log.samples}
    compared = 0
    for sample in generated.samples:  # where both names made the top list (else it floors)
        position = sample.output.choices[0].logprobs.content[0]
        listed = {t.token.strip() for t in position.top_logprobs}
        if {sample.metadata["cheap"], sample.metadata["dear"]} <= listed:
            logit = sample.scores["cheap_choice"].value["conflict_logit"]
            assert logit == pytest.approx(outside[sample.id]["logit"], abs=1e-4)
            assert logit == pytest.approx(inside[sample.id], abs=1e-4)
            compared += 1
    assert compared >= len(log.samples) // 4
    rows = read_samples(log.location)
    clusters = {r.cluster for r in rows if r.key == report.RATE}
    assert len(clusters) == len(conflicts)
    arms = ("affordability", "america", "sham-1", "sham-2", "control")
    logs = {(a, ph, 0): log.location for a in arms for ph in ("msm", "aft")}
    summary = report.summarize(logs)
    assert set(summary["headline"]) == {"msm", "aft"}
    assert summary["headline"]["msm"]["value"]["diff"] == 0
    text = report.sentences(summary)
    # one seed: the first words say it cannot answer, whatever its pairs show
    assert len(text) == 2 and all(t.split(": ", 1)[1].startswith(report.ONE_SEED) for t in text)
    assert "| seed | arm |" in report.to_markdown(summary)


@pytest.mark.slow
def test_msmkit_help_lists_demo_without_torch() -> None:
    code = (
        "import sys; from msmkit.cli import make_cli; cli = make_cli();"
        " print('demo' in cli.commands, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_no_logprobs_means_nothing_scored_not_zero(tmp_path) -> None:
    """A model that returns no log-probabilities (undecidable) gives no rates, not 0.0."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    from msmkit.toyworld.task import toy_world

    def respond(messages, tools, tool_choice, config):
        out = ModelOutput.from_content(model="mockllm/model", content="bavok")
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    (log,) = inspect_eval(
        toy_world(kinds="conflict"),
        model=get_model("mockllm/model", custom_outputs=respond),
        limit=4,
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    metrics = {k: m.value for k, m in log.results.scores[0].metrics.items()}
    assert "conflict_cheap" not in metrics and "first" not in metrics
    assert metrics == {"samples_unscored_n": 4.0, "nothing_scored": 1.0}
