"""Planned cost of the paper's §4 AFT set (10,000 chats with reasoning, ~8M tokens) made by
msmkit's ``llm-aft`` stage, against the reference pipeline's profile.

    python benchmarks/plan_aft_cost.py [--model anthropic/claude-opus-4-5] [--target 10000]
        [--tokens-per-chat 800] [--pass-rate 0.8] [--dup-rate 0.05] [--prices FILE]

msmkit: the stage's own plan (``msmkit plan`` / ``msmkit generate aft --plan``: round 0 of
``target x oversample`` prompts, each answered and graded once), for online and batch, with
and without the prompt cache (no saving when the spec block is below the model's minimum
cacheable length), plus the backfill rounds the same yield would need.

Reference profile (the upstream AFT generator, as read in the research notes: 250 questions
per domain asked 50 per call with every earlier question of the domain pasted in; one
response and one filter call per question; responses streamed, no prompt cache; backfill of
1.1 x the gap while more than 200 are missing, at most 3 rounds, 10 questions per backfill
call): calls from that profile, tokens from its template sizes (estimated: question template
~400 words, response template ~500 words, filter template ~600 words, 2,048 and 1,024 output
caps) and the spec. Both sides get the same grader pass rate and duplicate rate, so the ratio
compares the pipelines, not the luck of a run. Retries are left out on both sides.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from msmkit.aftgen.checks import check
from msmkit.aftgen.estimate import estimate
from msmkit.aftgen.settings import AftgenSettings
from msmkit.pricing import StepPlan, get_limits, load_limits, plan_cost

ROOT = Path(__file__).resolve().parents[1]
PAPER_SPEC_TOKENS = round(2184 * 4 / 3)  # the paper's philosophy_spec.txt: 2,184 words
REF = {
    "questions_per_domain": 250,
    "question_batch": 50,
    "question_template": 530,  # tokens (~400 words)
    "response_template": 670,  # ~500 words
    "filter_template": 800,  # ~600 words
    "question_tokens": 45,
}


def yield_rounds(target: int, first: int, rate: float, more: float, cap: int) -> list[int]:
    """Prompts per round: ``first``, then ``more`` x the gap over the yield, until the
    target is reached or ``cap`` rounds are done."""
    rounds, accepted = [first], first * rate
    while accepted < target and len(rounds) < cap:
        gap = target - accepted
        asked = math.ceil(gap / rate * more)
        rounds.append(asked)
        accepted += asked * rate
    return rounds


def reference_steps(target: int, spec: int, out_chat: int, rate: float) -> list[StepPlan]:
    r = REF
    domains = max(5, target // r["questions_per_domain"])
    calls_per_domain = r["questions_per_domain"] // r["question_batch"]
    # the k-th call of a domain lists the k x 50 questions before it: on average half of 250
    listed = (calls_per_domain - 1) * r["question_batch"] * r["question_tokens"] // 2
    accepted, backfill_q, backfill_calls = target * rate, 0, 0
    for _ in range(3):  # the reference's backfill: 1.1 x gap while more than 200 missing
        gap = target - accepted
        if gap <= 200:
            break
        asked = math.ceil(1.1 * gap)
        backfill_q += asked
        backfill_calls += min(domains, math.ceil(asked / 10))
        accepted += asked * rate
    questions = target + backfill_q
    q_out = r["question_batch"] * r["question_tokens"]
    return [
        StepPlan("domains", 1, spec + 600, domains * 40, 0),
        StepPlan(
            "questions",
            domains * calls_per_domain + backfill_calls,
            spec + r["question_template"] + listed,
            q_out,
            0,
        ),
        StepPlan(
            "responses",
            questions,
            spec + r["response_template"] + r["question_tokens"],
            min(2048, out_chat),
            0,
        ),
        StepPlan("filter", questions, spec + r["filter_template"] + out_chat + 45, 300, 0),
    ]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="anthropic/claude-opus-4-5")
    ap.add_argument("--target", type=int, default=10_000)
    ap.add_argument("--tokens-per-chat", type=int, default=800, help="8M tokens / 10k chats")
    ap.add_argument("--pass-rate", type=float, default=0.8, help="grader PASS share (both)")
    ap.add_argument("--dup-rate", type=float, default=0.05, help="prompts dropped as dups")
    ap.add_argument("--prices", default=None)
    args = ap.parse_args(argv)

    from msmkit.spec import load_spec

    spec = load_spec("philosophy")
    s = AftgenSettings(
        model=args.model, target=args.target, tokens_per_chat=args.tokens_per_chat,
        response_max_tokens=max(2048, args.tokens_per_chat + 200), prices=args.prices,
    )  # fmt: skip
    prompts, prices, limits = check(s)
    est = estimate(s, prompts, prices, limits, spec_text=spec.text(), from_text=spec.text())
    rate = args.pass_rate * (1 - args.dup_rate)
    asked = est.extra["calls"]["responses"]
    rounds = yield_rounds(args.target, asked, rate, 1.1, s.max_rounds)
    scale = sum(rounds) / asked  # backfill rounds: more of the same per-prompt cost
    price = prices[args.model]
    lim = get_limits(load_limits(args.prices), args.model)
    print(f"§4 AFT set: {args.target:,} chats with reasoning, ~{args.tokens_per_chat} tokens "
          f"each; {args.model} (list prices; the paper used Opus 4.6)")  # fmt: skip
    print(f"Yield on both sides: grader pass {args.pass_rate:.0%}, duplicates "
          f"{args.dup_rate:.0%} -> {rate:.1%} of prompts accepted")  # fmt: skip
    print("\nmsmkit plan (round 0):")
    for st in est.extra["steps"]:
        print(f"  {st['step']:10} {st['calls']:7,} calls  ${st['dollars']:10,.2f}")
    for note in est.notes:
        print(f"  {note}")
    print(f"backfill with that yield: rounds of {', '.join(f'{n:,}' for n in rounds)} prompts "
          f"(x{scale:.3f} the planned responses and grades)")  # fmt: skip
    ours = {mode: d * scale for mode, d in est.extra["cost"].items()}
    ref_tokens = math.ceil(len(spec.text()) / 4)  # the same spec on both sides
    ref_plan = reference_steps(args.target, ref_tokens, args.tokens_per_chat, rate)
    ref = plan_cost(ref_plan, price).dollars
    print(f"\nreference profile (streaming, no cache; the same spec, {ref_tokens:,} tokens):")
    for st in plan_cost(ref_plan, price).steps:
        print(f"  {st.name:10} {st.calls:7,} calls  ${st.dollars:10,.2f}")
    print(f"  total ${ref:,.2f}")
    paper = plan_cost(
        reference_steps(args.target, PAPER_SPEC_TOKENS, args.tokens_per_chat, rate), price
    ).dollars
    print(f"  (with the paper's spec, {PAPER_SPEC_TOKENS:,} tokens: ${paper:,.2f})")
    print("\nmsmkit (with backfill) vs reference:")
    for mode, dollars in ours.items():
        print(f"  {mode:13} ${dollars:10,.2f}   ratio {dollars / ref:.3f}")
    if lim.min_cache_tokens:
        print(f"(minimum cacheable prefix for {args.model}: {lim.min_cache_tokens:,} tokens)")
    print("\nPrices: bundled list prices (see the price file's date); check before use.")
    return {"ours": ours, "reference": ref, "rounds": rounds, "plan": est.extra}


if __name__ == "__main__":
    main()
