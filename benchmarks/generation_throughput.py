"""Sustained throughput of the online executor against a rate-limited fake provider.

    python benchmarks/generation_throughput.py [--requests 3000] [--rate 50] [--latency 0.2]
        [--connections 32] [--model anthropic/claude-sonnet-4-5]

The fake server (tests/fakes) answers after ``--latency`` seconds and returns 429 with
Retry-After beyond ``--rate`` requests per second (token bucket, 1 s burst). Prints the
completed requests per second as a ratio of the limit (target >= 0.9), the 429s received
and the journal count. No network, no key (a fake one is set).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes import FakeLLMServer

from msmkit.llm import LLMRequest, ProviderSettings, ResultJournal
from msmkit.llm.online import OnlineExecutor


def serve(latency: float, rate: float, ready: Any, stop: Any) -> None:
    with FakeLLMServer(latency_s=latency, rate_limit_rps=rate) as server:
        ready.put(server.url)
        stop.wait()


def stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/_stats", timeout=10) as response:
        return {str(k): v for k, v in json.load(response)["status_counts"].items()}


@dataclass
class Report:
    requests: int
    seconds: float
    rate_limit: float
    throughput: float
    ratio: float
    rate_limited: int
    journaled: int


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--model", default="anthropic/claude-sonnet-4-5")
    args = parser.parse_args(argv)
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-benchmark-fake-key")
    os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-fake-key-openai")
    requests = [
        LLMRequest(id=f"b{i}", model=args.model, prompt=f"req b{i}", system="spec " * 50)
        for i in range(args.requests)
    ]
    ready: mp.Queue = mp.get_context("spawn").Queue()
    stop = mp.get_context("spawn").Event()
    server = mp.get_context("spawn").Process(
        target=serve, args=(args.latency, args.rate, ready, stop), daemon=True
    )
    server.start()  # its own process: the fake's threads don't compete for our GIL
    url = ready.get(timeout=60)
    with tempfile.TemporaryDirectory() as tmp:
        base = url if args.model.startswith("anthropic/") else url + "/v1"
        settings = ProviderSettings(
            model=args.model, base_url=base, max_connections=args.connections, max_retries=50
        )
        # warm up (imports, client, connections) outside the timed run, then refill the bucket
        warm = [LLMRequest(id=f"w{i}", model=args.model, prompt=f"warm {i}") for i in range(20)]
        OnlineExecutor(settings).run(
            warm, ResultJournal(Path(tmp) / "warm.jsonl"), state_dir=Path(tmp)
        )
        time.sleep(1.0 + 20 / args.rate)
        limited_before = stats(url).get("429", 0)
        journal = ResultJournal(Path(tmp) / "journal.jsonl")
        start = time.perf_counter()
        summary = OnlineExecutor(settings).run(requests, journal, state_dir=Path(tmp))
        seconds = time.perf_counter() - start
        limited = stats(url).get("429", 0) - limited_before
        journaled = len(journal)
    stop.set()
    server.join(timeout=10)
    throughput = summary.sent / seconds
    # the bucket starts full: the limit over the run allows rate * seconds + one burst
    allowed = (args.rate * seconds + args.rate) / seconds
    report = Report(
        args.requests, seconds, args.rate, throughput, throughput / allowed, limited, journaled
    )
    print(f"requests: {args.requests} ({summary.sent} sent, {summary.failed} failed)")
    print(f"time: {seconds:.1f} s  throughput: {throughput:.1f} req/s")
    print(f"rate limit: {args.rate:.0f} req/s (+1 s burst)  ratio: {report.ratio:.3f}")
    print(f"429 responses: {limited}  journaled: {journaled}")
    return report


if __name__ == "__main__":
    main()
