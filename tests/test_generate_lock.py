"""``msmkit generate docs`` twice at once on one output: one process writes, the other waits
(saying who holds the output) and then finds the work done; nothing is written twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def start(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HERE / "stage_plugins.py"), *args],
        env={**os.environ, "COLUMNS": "200", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_generations_into_one_file_write_each_document_once(tmp_path):
    out = tmp_path / "corpus.jsonl"
    gen_log = tmp_path / "generated.log"
    env = {"MSMKIT_TEST_GEN_LOG": str(gen_log)}
    args = ("generate", "docs", "pro-america", "-o", str(out), "-g", "echo")
    first = start(*args, "-O", "n=6", "-O", "sleep=0.4", env=env)
    deadline = time.monotonic() + 60
    while not gen_log.exists():  # the first is writing before the second starts
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = start(*args, "-O", "n=6", "-O", "sleep=0.4", env=env)
    _, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert "is being written by process" in err2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == [f"d{i}" for i in range(6)]
    generated = gen_log.read_text().splitlines()
    assert len(generated) == 6  # every document generated once, by the first process
    assert len({line.split()[-1] for line in generated}) == 1
    assert json.loads(out2)["documents"] == 6
