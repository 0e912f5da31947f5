"""Run an executor in its own process (tests kill it with SIGKILL mid-run).

python -m fakes.run_executor '<json: settings, n, journal, state_dir>'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from msmkit.llm import LLMRequest, ResultJournal, make_executor


def main() -> None:
    job = json.loads(sys.argv[1])
    requests = [
        LLMRequest(id=f"r{i}", model=job["settings"]["model"], prompt=f"req r{i}", system="spec")
        for i in range(job["n"])
    ]
    executor = make_executor(job["settings"])
    summary = executor.run(
        requests, ResultJournal(Path(job["journal"])), state_dir=Path(job["state_dir"])
    )
    print(json.dumps({"sent": summary.sent, "pending": summary.pending}))


if __name__ == "__main__":
    main()
