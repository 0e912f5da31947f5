"""What the run's controller costs while stage processes work, before and after the manifest
refresh rule (rewrite on a status change, else every ``MANIFEST_EVERY_S``), in one run.

    python benchmarks/controller_overhead.py              # 8 arms, 2 stage processes at once
    python benchmarks/controller_overhead.py --arms 16

An experiment of ``--arms`` arms (the test plugin's echo generator, 1 s a document, and copy
"training" with a different option per arm, so every arm has its own midtraining and AFT)
runs with the background executor twice, in fresh stores: once rewriting the manifest after
every stage of every controller pass (``MANIFEST_EVERY_S = 0``, the old behaviour), once
with the rule. Prints the controller's own CPU seconds (this process; the stage processes
are children and not counted), its manifest writes, the wall time and the ratios. On 2
cores the controller's CPU is time the stage processes do not get.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"


def experiment(folder: Path, arms: int) -> Path:
    base = folder / "base"
    base.mkdir(exist_ok=True)
    (base / "config.json").write_text("{}")
    lines = "".join(
        f"  - {{name: arm-{i:02d}, spec: {'pro-america' if i % 2 else 'pro-affordability'},"
        f" midtrain: {{backend: copy, options: {{lr: {i + 1}}}}}}}\n"
        for i in range(arms)
    )
    path = folder / "exp.yaml"
    path.write_text(
        "name: overhead\n"
        f"base_model: {base}\n"
        "executor: {name: background, options: {max_jobs: 2}}\n"
        "defaults:\n"
        "  generate: {name: echo, options: {n: 2, sleep: 1.0}}\n"
        "  midtrain: {backend: copy}\n"
        "  aft: {backend: copy, data: cheese}\n"
        f"arms:\n{lines}"
    )
    return path


def measure(folder: Path, arms: int, every_s: float) -> dict[str, float]:
    import msmkit
    from msmkit.run import api
    from msmkit.run import folder as run_folder

    api.MANIFEST_EVERY_S = every_s
    writes = [0]
    original = run_folder.RunFolder.write

    def counted(self, data):  # type: ignore[no-untyped-def]
        writes[0] += 1
        return original(self, data)

    run_folder.RunFolder.write = counted  # type: ignore[method-assign]
    try:
        exp = experiment(folder, arms)
        run = msmkit.Run(exp, log_dir=folder / "logs", poll_s=0.2)
        run.plan()
        cpu, wall = time.process_time(), time.perf_counter()
        result = run.execute()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        run_folder.RunFolder.write = original  # type: ignore[method-assign]
    assert result.complete, result.failed
    return {"cpu_s": cpu, "wall_s": wall, "writes": writes[0], "stages": len(result.computed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", type=int, default=8)
    args = parser.parse_args()
    os.environ["MSMKIT_PLUGINS"] = "test-plugin=stage_plugin_hooks"
    os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    sys.path.insert(0, str(TESTS))
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, every in (("every pass", 0.0), ("on change / 5 s", 5.0)):
            (Path(tmp) / label[:5]).mkdir()
            rows[label] = measure(Path(tmp) / label[:5], args.arms, every)
    print(f"{args.arms} arms, {os.cpu_count()} cores, background executor, 2 stage processes")
    print(f"{'manifest rewritten':<18} {'stages':>6} {'writes':>7} {'ctl CPU s':>9} {'wall s':>7}")
    for label, r in rows.items():
        print(
            f"{label:<18} {r['stages']:>6} {r['writes']:>7} {r['cpu_s']:>9.1f} {r['wall_s']:>7.1f}"
        )
    old, new = rows["every pass"], rows["on change / 5 s"]
    print(
        f"controller CPU: {old['cpu_s'] / new['cpu_s']:.1f}x less; "
        f"manifest writes: {old['writes'] / new['writes']:.1f}x fewer; "
        f"wall: {old['wall_s'] / new['wall_s']:.2f}x"
    )


if __name__ == "__main__":
    main()
