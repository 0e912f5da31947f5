"""Stage kinds of the toy world: ``toyworld-base`` (pretrained model) and ``toyworld-aft``.

``toyworld-base`` builds the word-level tokenizer and a small Llama-shaped model, pretrains
it on the world corpus and runs the knowledge probes. Probes under ``min_probe`` fail the
stage (``on_probe_fail: error``, the default) so no MSM arm starts from a model that does
not know the world; with ``report`` it finishes and says so. Its outputs carry the probes,
the probe curve and the training log; the store keeps it, so later runs skip it.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import Field

from msmkit.components import Estimate, Options
from msmkit.errors import MsmkitError
from msmkit.hashing import sha256_text
from msmkit.stagekit import RUNTIME, StageContext
from msmkit.toyworld.model import ToyModelSettings
from msmkit.toyworld.pretrain import PretrainSettings


def world_fingerprint(bank_seed: int, seed: int) -> str:
    """A hash of what the world's code produces (vocabulary, a corpus sample, the probes)."""
    from msmkit.toyworld import world
    from msmkit.toyworld.model import world_words

    blob = {
        "words": world_words(bank_seed),
        "corpus": world.pretraining_documents(seed, 400, bank_seed=bank_seed),
        "probes": [p.prefix for p in world.knowledge_probes(bank_seed)[:50]],
    }
    return sha256_text(json.dumps(blob, sort_keys=True))


class ProbeError(MsmkitError):
    """The pretrained toy model does not know the world well enough."""


class ToyBaseOptions(Options):
    seed: int = Field(0, description="model init and corpus order (the experiment's seed)")
    bank_seed: int = Field(0, description="the world's item bank (keep the default)")
    model: ToyModelSettings = Field(default_factory=ToyModelSettings)
    pretrain: PretrainSettings = Field(default_factory=PretrainSettings)
    min_probe: float = Field(0.95, ge=0, le=1, description="knowledge probes needed to pass")
    min_format: float = Field(
        0.0, ge=0, le=1, description="the format probe (answers by content) needed to pass"
    )
    min_answer_mass: float = Field(
        0.0,
        ge=0,
        le=1,
        description="mean p(either offered name) on the held-out preference questions needed "
        "to pass (the eval's readout); 0 reports it without gating",
    )
    on_probe_fail: Literal["error", "report"] = "error"
    threads: int | None = Field(
        None,
        ge=1,
        json_schema_extra=RUNTIME,
        description="torch CPU threads (default: the process's, e.g. OMP_NUM_THREADS; the "
        "weights do not depend on it)",
    )


PROBES = ("price", "origin", "format", "answer_mass")


def probe_shortfalls(probes: dict[str, float], opts: ToyBaseOptions) -> list[str]:
    """Each probe below what the options ask, in words (empty: the base passes)."""
    need = {
        "price": opts.min_probe,
        "origin": opts.min_probe,
        "format": opts.min_format,
        "answer_mass": opts.min_answer_mass,
    }
    return [
        f"{name.replace('_', ' ')} {probes.get(name, 0.0):.2f} (need {floor})"
        for name, floor in need.items()
        if probes.get(name, 0.0) < floor
    ]


class ToyBaseKind:
    name = "toyworld-base"
    description = "Pretrain a small model on the toy world and probe what it knows"
    # 2: the answer-mass probe; 3: the content probe leaves out coin flips; 4: the answer
    # mass over conflict and agree pairs, as the eval's option_mass
    version = "4"
    Options: ClassVar[type[Options]] = ToyBaseOptions
    consumes: ClassVar[dict[str, str]] = {}
    produces: ClassVar[str] = "model"
    resumable: ClassVar[bool] = False

    def label(self, options: ToyBaseOptions) -> str:
        return f"pretrain the toy world model (seed {options.seed})"

    def fingerprint_extra(self, options: ToyBaseOptions) -> str:
        """The world's texts count too: a change in the world's code retrains the base."""
        return world_fingerprint(options.bank_seed, options.seed)

    def estimate(self, options: ToyBaseOptions, upstream: dict[str, Estimate]) -> Estimate:
        p = options.pretrain
        return Estimate(
            "toyworld-base",
            tokens=p.max_steps * p.batch_size * p.seq_len,
            notes=[f"up to {p.max_steps} steps; stops once probes reach {p.stop_at}"],
        )

    def run(self, ctx: StageContext) -> dict[str, Any]:
        import torch

        from msmkit.toyworld import model as tm
        from msmkit.toyworld.pretrain import pretrain
        from msmkit.training.data import atomic_output_dir

        opts: ToyBaseOptions = ctx.options
        if opts.threads is not None:
            torch.set_num_threads(opts.threads)
        tokenizer = tm.build_tokenizer(tm.world_words(opts.bank_seed))
        model = tm.build_model(tokenizer, opts.model, opts.seed)
        params = tm.n_params(model)
        ctx.note(f"toy world model: {params:,} parameters, vocabulary {len(tokenizer)}")
        with ctx.progress(total=opts.pretrain.max_steps) as advance:

            def report(step: int, total: int, point: dict[str, float]) -> None:
                advance(step, total=total, absolute=True)
                if point:
                    ctx.note(
                        f"  step {step}: loss {point['loss']:.3f}, probes price "
                        f"{point['price']:.2f}, origin {point['origin']:.2f}, "
                        f"format {point['format']:.2f}, answer mass {point['answer_mass']:.2f}"
                    )

            log = pretrain(
                model,
                tokenizer,
                opts.pretrain,
                opts.seed,
                bank_seed=opts.bank_seed,
                progress=report,
            )
        probes = {k: v for k, v in log["curve"][-1].items() if k in PROBES}
        short = probe_shortfalls(probes, opts)
        passed = not short
        (ctx.dir / "pretrain.json").write_text(json.dumps(log, indent=2) + "\n")
        if short and opts.on_probe_fail == "error":
            raise ProbeError(
                f"the toy model does not know the world after {log['steps']} steps: "
                + "; ".join(short),
                hint="raise pretrain.max_steps or the learning rate (more format chats for the "
                f"answer format and mass); the curve is in {ctx.dir / 'pretrain.json'}",
            )
        with atomic_output_dir(ctx.dir / "model") as staging:
            tm.save(model, tokenizer, staging)
        return {
            "model": "model",
            "params": params,
            "vocab": len(tokenizer),
            "probes": probes,
            "probes_passed": passed,
            "steps": log["steps"],
            "seconds": log["seconds"],
            "curve": log["curve"],
        }


class ToyAFTOptions(Options):
    bank_seed: int = Field(0, description="the world's item bank (keep the default)")
    format_chats: int = Field(
        0,
        ge=0,
        description="content-decided forced choices from the training domains mixed in "
        "(no preference, no held-out item), so AFT keeps names as answers outside the cheeses",
    )


def aft_rows(options: ToyAFTOptions) -> list[dict]:
    """The AFT set: the cheese preferences, then ``format_chats`` format rows, interleaved
    in a fixed order (the trainer shuffles too; the file's order does not depend on it)."""
    import random

    from msmkit.toyworld.world import aft_examples, aft_format_chats

    rows = aft_examples(options.bank_seed)
    if options.format_chats:
        rows = rows + aft_format_chats(options.format_chats, options.bank_seed)
        random.Random(f"toyworld-aft-order|{options.bank_seed}").shuffle(rows)
    return rows


class ToyAFTKind:
    name = "toyworld-aft"
    description = "The toy world's cheese preferences as chat demonstrations (no reasons)"
    version = "1"
    Options: ClassVar[type[Options]] = ToyAFTOptions
    consumes: ClassVar[dict[str, str]] = {}
    produces: ClassVar[str] = "chats"
    resumable: ClassVar[bool] = False

    def label(self, options: ToyAFTOptions) -> str:
        return "toy world AFT set"

    def fingerprint_extra(self, options: ToyAFTOptions) -> str:
        return sha256_text(json.dumps(aft_rows(options), sort_keys=True))

    def estimate(self, options: ToyAFTOptions, upstream: dict[str, Estimate]) -> Estimate:
        return Estimate("toyworld-aft", items=len(aft_rows(options)))

    def run(self, ctx: StageContext) -> dict[str, Any]:
        rows = aft_rows(ctx.options)
        text = "".join(json.dumps(row) + "\n" for row in rows)
        (ctx.dir / "aft.jsonl").write_text(text, encoding="utf-8")
        return {"data": "aft.jsonl", "rows": len(rows)}
