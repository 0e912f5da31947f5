"""The toy world's cost per seed, measured in one run: torch threads and scoring.

    python benchmarks/toy_seed_time.py               # 200 pretraining steps of the demo's base
    python benchmarks/toy_seed_time.py --steps 400

1. **Threads.** The demo's base model (``experiments/toy-world.yaml``) is pretrained for
   ``--steps`` steps in fresh processes: one thread alone, two threads alone, and two
   one-thread processes at once (two seeds side by side, as the ``background`` executor runs
   them). Prints seconds, steps per second of the machine, and whether the weights are the
   same whatever the thread count (a sha256 of the saved weights).
2. **Scoring.** The pretrained model answers every ``msmkit/toy_world`` sample (352: conflict,
   agree and AFT-check pairs, both orders) through the Inspect task with one generation a
   sample (``batched=False``), through the task's batched solver (the default), and through
   ``msmkit.toyworld.scoring`` alone; prints the times and how far the log-odds differ from the
   generations' where both names are in the top list.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def child_pretrain(out: Path, steps: int, seed: int) -> None:
    """In this (fresh) process: the demo's base model and settings, ``steps`` steps."""
    import torch
    import yaml

    from msmkit.toyworld import model as tm
    from msmkit.toyworld.pretrain import PretrainSettings, pretrain

    exp = yaml.safe_load((REPO / "experiments" / "toy-world.yaml").read_text())
    options = exp["base_model"]["options"]
    settings = PretrainSettings(
        **{**options["pretrain"], "max_steps": steps, "min_steps": steps, "probe_every": steps}
    )
    tokenizer = tm.build_tokenizer(tm.world_words(0))
    model = tm.build_model(tokenizer, tm.ToyModelSettings(**options["model"]), seed)
    started = time.perf_counter()
    pretrain(model, tokenizer, settings, seed)
    seconds = time.perf_counter() - started
    tm.save(model, tokenizer, out)
    blob = b"".join(p.detach().numpy().tobytes() for p in model.parameters())
    record = {
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
    }
    (out / "bench.json").write_text(json.dumps(record))


def pretrain_processes(root: Path, steps: int, threads: int, count: int) -> list[dict]:
    """``count`` pretraining processes started together, each with ``threads`` threads."""
    env = {**os.environ, **dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS"), str(threads))}
    procs, outs = [], []
    for k in range(count):
        out = root / f"t{threads}-n{count}-{k}"
        out.mkdir(parents=True)
        argv = [sys.executable, __file__, "--child", str(out), "--steps", str(steps)]
        procs.append(subprocess.Popen(argv, env=env))
        outs.append(out)
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("a pretraining process failed")
    return [{**json.loads((o / "bench.json").read_text()), "dir": str(o)} for o in outs]


def score_both(model_dir: Path, log_dir: Path) -> dict:
    from inspect_ai import eval as inspect_eval

    from msmkit.toyworld.scoring import score_checkpoint
    from msmkit.toyworld.task import toy_samples, toy_world

    def inspect_run(batched: bool) -> tuple[float, Any]:
        started = time.perf_counter()
        (log,) = inspect_eval(
            toy_world(batched=batched),
            model=f"hf/{model_dir}",
            model_args={"device": "cpu", "do_sample": False},
            log_dir=str(log_dir / str(batched)),
            display="none",
            max_connections=64,
        )
        return time.perf_counter() - started, log

    per_sample_s, log = inspect_run(batched=False)
    task_batched_s, batched_log = inspect_run(batched=True)
    samples = toy_samples()
    started = time.perf_counter()
    outside = score_checkpoint(model_dir, samples)
    outside_s = time.perf_counter() - started
    by_id = dict(zip([s.id for s in samples], outside, strict=True))
    inside = {s.id: s.scores["cheap_choice"].value for s in batched_log.samples or []}
    gaps = []
    for sample in log.samples or []:
        value = sample.scores["cheap_choice"].value
        key = f"{sample.metadata['kind']}_logit"
        position = sample.output.choices[0].logprobs.content[0]
        listed = {t.token.strip() for t in position.top_logprobs}
        if {sample.metadata["cheap"], sample.metadata["dear"]} <= listed:
            gaps.append(abs(value[key] - by_id[sample.id]["logit"]))
            gaps.append(abs(value[key] - inside[sample.id][key]))
    return {
        "samples": len(samples),
        "per_sample_s": per_sample_s,
        "task_batched_s": task_batched_s,
        "outside_s": outside_s,
        "compared": len(gaps) // 2,
        "max_gap": max(gaps) if gaps else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_pretrain(args.child, args.steps, seed=0)
        return
    root = Path(tempfile.mkdtemp(prefix="msmkit-toy-bench-"))
    one = pretrain_processes(root, args.steps, threads=1, count=1)[0]
    two = pretrain_processes(root, args.steps, threads=2, count=1)[0]
    pair = pretrain_processes(root, args.steps, threads=1, count=2)
    pair_wall = max(r["seconds"] for r in pair)
    same = len({r["weights_sha256"] for r in (one, two, *pair)}) == 1
    print(f"pretraining {args.steps} steps of the demo's base model ({os.cpu_count()} CPUs)")
    print(f"  1 thread, alone:            {one['seconds']:7.1f} s")
    print(f"  2 threads, alone:           {two['seconds']:7.1f} s   1 thread / 2 threads: "
          f"{one['seconds'] / two['seconds']:.2f}x the time")  # fmt: skip
    ratio = pair_wall / (2 * two["seconds"])
    print(f"  two 1-thread runs at once:  {pair_wall:7.1f} s   two seeds in "
          f"{ratio:.2f}x the time of two 2-thread runs in a row")  # fmt: skip
    print(f"  weights identical across thread counts: {same}")
    scored = score_both(Path(one["dir"]), root / "logs")
    print(f"scoring {scored['samples']} toy_world samples of that model")
    print(f"  Inspect task, one generation a sample:   {scored['per_sample_s']:6.1f} s")
    print(f"  Inspect task, batched solver (default):  {scored['task_batched_s']:6.1f} s   "
          f"{scored['per_sample_s'] / scored['task_batched_s']:.1f}x faster")  # fmt: skip
    print(f"  batched forward passes alone:            {scored['outside_s']:6.2f} s")
    print(f"  largest log-odds difference from the generations, over {scored['compared']} "
          f"samples with both names in the top list: {scored['max_gap']:.2e}")  # fmt: skip


if __name__ == "__main__":
    main()
