"""Planned cost of a 41M-token Philosophy-spec MSM corpus (13,201 documents).

    python benchmarks/plan_philosophy_cost.py [--prices FILE] [--models M ...]
        [--docs 13201] [--corpus-tokens 41000000] [--spec-tokens N ...]

Pipeline model (simple, stated in the output): domains -> subdomains -> assertions -> doc types
-> doc ideas -> documents, with the reference pipeline's shape (8 domains, ~27 subdomains,
20 doc types x 25 ideas per subdomain). Every call that carries the full spec (domains,
subdomains, ideas, documents) has it as a cacheable prefix. A document call's input is
spec + instructions/assertions + idea; its output is the document (corpus tokens / documents;
the scratchpad is not counted). Token sizes of the non-spec parts are words x 4/3 estimates.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from inspect_ai.model import ModelCost

from msmkit.pricing import PlanCost, StepPlan, get_price, load_prices, plan_cost

ROOT = Path(__file__).resolve().parents[1]
PAPER_SPEC_TOKENS = round(2184 * 4 / 3)  # paper philosophy_spec.txt: 2,184 words
DOMAINS, DOC_TYPES, IDEAS_PER_TYPE = 8, 20, 25
DOC_EXTRA_IN = 2200  # template 384 words + identity, domain/subdomain, assertions, type, idea
CONFIGS = {
    "plain": {"batch": False, "caching": False},
    "caching only": {"batch": False, "caching": True},
    "batches only": {"batch": True, "caching": False},
    "batches + caching": {"batch": True, "caching": True},
    "reference (upstream default)": {"batch": False, "caching": False},
    "reference (use_batch_api)": {"batch": {"documents"}, "caching": False},
}


def philosophy_steps(spec_tokens: int, docs: int, corpus_tokens: int) -> list[StepPlan]:
    """The six steps with call counts and per-call tokens (see the module docstring)."""
    subdomains = math.ceil(docs / (DOC_TYPES * IDEAS_PER_TYPE))
    s = spec_tokens
    return [
        StepPlan("domains", 1, s + 180, 200, s),
        StepPlan("subdomains", DOMAINS, s + 320, 300 + s // DOMAINS, s),
        StepPlan("assertions", subdomains, s // subdomains + 380, 1500, 0),
        StepPlan("doc types", subdomains, 1800, 600, 0),
        StepPlan("doc ideas", subdomains * DOC_TYPES, s + 2100, 1250, s),
        StepPlan("documents", docs, s + DOC_EXTRA_IN, round(corpus_tokens / docs), s),
    ]


def _fmt_m(tokens: int) -> str:
    return f"{tokens / 1e6:7.2f}M"


def print_plan(label: str, steps: list[StepPlan], price: ModelCost) -> None:
    print(f"\n### {label}")
    print(
        f"{'configuration':30} {'plain in':>9} {'c.write':>9} {'c.read':>9} {'output':>9} {'$':>9}"
    )
    for name, cfg in CONFIGS.items():
        plan: PlanCost = plan_cost(steps, price, **cfg)  # type: ignore[arg-type]
        print(
            f"{name:30} {_fmt_m(plan.input_tokens):>9} {_fmt_m(plan.cache_write_tokens):>9}"
            f" {_fmt_m(plan.cache_read_tokens):>9} {_fmt_m(plan.output_tokens):>9}"
            f" {plan.dollars:9,.0f}"
        )
    docs = plan_cost(steps, price).steps[-1]
    share = docs.dollars / plan_cost(steps, price).dollars
    print(f"(document step = {share:.0%} of the plain cost)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prices", default=None, help="price file (Inspect model-cost format)")
    ap.add_argument("--models", nargs="+", default=["anthropic/claude-sonnet-4-5", "openai/gpt-5"])
    ap.add_argument("--docs", type=int, default=13201)
    ap.add_argument("--corpus-tokens", type=int, default=41_000_000)
    ap.add_argument("--spec-tokens", type=int, nargs="+", default=None)
    args = ap.parse_args()

    ours = len((ROOT / "specs" / "philosophy.md").read_text(encoding="utf-8")) // 4
    specs = args.spec_tokens or [ours, PAPER_SPEC_TOKENS]
    prices = load_prices(args.prices)
    print(f"Corpus: {args.docs:,} documents, {args.corpus_tokens / 1e6:.0f}M tokens")
    print(
        f"Spec tokens: ours (specs/philosophy.md, chars/4) = {ours:,}; "
        f"paper (2,184 words x 4/3) = {PAPER_SPEC_TOKENS:,}"
    )
    print(
        "Steps: domains -> subdomains -> assertions -> doc types -> doc ideas -> documents;"
        " cached prefix = spec block. Cache: interactive one write per 100 calls (~5-min"
        " window), batched one write per 1,000-call batch. Batch discount 50%. Reference:"
        " no caching, documents batched all-or-nothing (other steps never)."
    )
    for spec in specs:
        steps = philosophy_steps(spec, args.docs, args.corpus_tokens)
        print(f"\nSpec {spec:,} tokens: calls per step:")
        for st in steps:
            print(
                f"  {st.name:11} {st.calls:6,} calls x ({st.input_tokens:,} in,"
                f" {st.cached_prefix_tokens:,} cacheable; {st.output_tokens:,} out)"
            )
        for model in args.models:
            print_plan(f"{model}, spec {spec:,} tokens", steps, get_price(prices, model))
    print("\nPrices: bundled list prices (see the price file's date); check before use.")


if __name__ == "__main__":
    main()
