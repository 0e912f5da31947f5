"""How long `msmkit plan` takes, now and at an earlier commit, measured in one run.

    python benchmarks/plan_time.py                    # vs 62f6111 (before run machinery v3)
    python benchmarks/plan_time.py --baseline HEAD~5 --repeats 5

Times the real CLI (`python -m msmkit plan EXP`) in fresh processes for the toy-world demo
and a generated 16-arm experiment (tiny base, offline documents, midtraining, AFT and a
value-generalization eval per arm). The earlier commit runs from a temporary git worktree.
"Cold" is msmkit's first plan on a machine (its schema cache empty: trl, peft and Inspect
are imported once to build it); "warm" is every plan after that. Prints the median of the
repeats and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sixteen_arms(folder: Path) -> Path:
    arms = "".join(
        f"  - name: arm-{i:02d}\n"
        f"    spec: {'pro-america' if i % 2 else 'pro-affordability'}\n"
        f"    generate: {{name: offline, options: {{docs_per_principle: 2, seed: {i}}}}}\n"
        for i in range(16)
    )
    path = folder / "sixteen.yaml"
    path.write_text(
        "name: sixteen\n"
        "base_model: {tiny: {hidden_size: 32, num_layers: 1}}\n"
        "defaults:\n"
        "  midtrain: {backend: trl, options: {lora: null, sft: {learning_rate: 1.0e-3, "
        "num_train_epochs: 1, max_length: 64}}}\n"
        "  aft: {backend: trl, data: cheese, options: {lora: null, sft: {learning_rate: "
        "1.0e-3, num_train_epochs: 1, max_length: 64}}}\n"
        "  evals: [{task: value_generalization, args: {limit_per_domain: 2}}]\n"
        "eval: {generate: {max_tokens: 8}}\n"
        f"arms:\n{arms}"
    )
    return path


def time_plan(src: Path, experiment: Path, cache: Path, logs: Path) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "MSMKIT_CACHE_DIR": str(cache),
        "COLUMNS": "200",
        "HF_HUB_OFFLINE": "1",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "msmkit", "plan", str(experiment), "--log-dir", str(logs)],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"plan failed ({src}):\n{done.stderr[-2000:]}")
    return elapsed


def matrix_experiment(folder: Path) -> Path:
    """The spec-science matrix of tests/test_matrix_toy.py: 2 specs x 2 variants x 2 AFT sizes
    x 2 seeds (the baseline commit has no matrices, so it is timed now only)."""
    import re

    text = (REPO / "tests" / "test_matrix_toy.py").read_text()
    body = re.search(r'EXP = f"""\\\n(.*?)"""', text, re.S)
    if body is None:
        raise SystemExit("cannot find the matrix experiment in tests/test_matrix_toy.py")
    exp = (
        body.group(1)
        .replace("{{", "{")
        .replace("}}", "}")
        .replace("{TOY}", str(REPO / "src" / "msmkit" / "toyworld" / "specs"))
    )
    path = folder / "matrix.yaml"
    path.write_text(exp)
    return path


def count_stages(experiment: Path, work: Path) -> int:
    import json

    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MSMKIT_CACHE_DIR": str(work / "c")}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "msmkit",
            "plan",
            str(experiment),
            "--json",
            "--log-dir",
            str(work / "count"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return len(json.loads(out)["stages"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="62f6111", help="git ref to compare with")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="msmkit-plan-bench-"))
    old = work / "baseline"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), args.baseline],
        check=True,
        capture_output=True,
    )
    try:
        experiments = {
            "demo (toy-world.yaml)": REPO / "experiments" / "toy-world.yaml",
            "16 arms (tiny base)": sixteen_arms(work),
            "matrix 2x2x2x2 (toy world)": matrix_experiment(work),
        }
        rows = []
        for label, exp in experiments.items():
            old_exp = old / exp.relative_to(REPO) if exp.is_relative_to(REPO) else exp
            base = (
                [float("nan")]
                if "matrix" in label
                else [
                    time_plan(old / "src", old_exp, work / "old-cache", work / "logs-old")
                    for _ in range(args.repeats)
                ]
            )
            cold = []
            for n in range(args.repeats):
                cache = work / f"cold-cache-{label[:4]}-{n}"
                cold.append(time_plan(REPO / "src", exp, cache, work / "logs-new"))
            warm = [
                time_plan(REPO / "src", exp, work / "warm-cache", work / "logs-new")
                for _ in range(args.repeats + 1)
            ][1:]
            label = f"{label[:-1]}, {count_stages(exp, work)} stages)"
            rows.append((label, *map(statistics.median, (base, cold, warm))))
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)])
        shutil.rmtree(work, ignore_errors=True)
    print(f"msmkit plan, median of {args.repeats} fresh processes ({os.cpu_count()} CPUs)")
    print(f"{'experiment':36} {args.baseline:>10} {'now cold':>10} {'now warm':>10} {'ratio':>8}")
    for label, base, cold, warm in rows:
        ratio = f"{base / warm:7.1f}x" if base == base else "    n/a"
        old_time = f"{base:9.2f}s" if base == base else "      n/a"
        print(f"{label:36} {old_time} {cold:9.2f}s {warm:9.2f}s {ratio}")
    print("ratio = baseline / now warm; cold = first plan on a machine (builds the schema cache)")


if __name__ == "__main__":
    main()
