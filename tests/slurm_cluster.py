"""A single-node Slurm cluster with accounting, for the ``slurm`` tests.

``python tests/slurm_cluster.py up [--install] [--dir DIR]`` starts, by hand (no systemd),
munged, a private MariaDB, slurmdbd, slurmctld and slurmd from Debian's packages, with every
state, log and pid file under DIR (default ``/tmp/msmkit-slurm``), and records the PIDs it
started in ``DIR/cluster.json``. ``down`` stops exactly those PIDs; ``status`` says whether
the cluster answers. ``--install`` first installs the packages with apt-get (root).

Every bring-up uses fresh state (job ids restart at 1; a new accounting database), so a
folder reused across cluster lifetimes never meets an old job's files. Speed knobs for tests:
``KillWait=5``, scheduler passes every 5 s, short credential expiry (fast requeues).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ["munge", "slurmctld", "slurmd", "slurm-client", "slurmdbd", "mariadb-server"]
DEFAULT_DIR = Path(os.environ.get("MSMKIT_SLURM_DIR", "/tmp/msmkit-slurm"))
CLUSTER = "msmkit"
PARTITION = "debug"
DB_SOCKET = Path("/run/mysqld/mysqld.sock")  # slurmdbd's MySQL client looks here


def install() -> float:
    """apt-get the packages (no recommends); returns the seconds it took."""
    t0 = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - t0


def alive(pid: int) -> bool:
    """Running, and not a zombie (PID 1 here may reap late: a zombie counts as stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _state(root: Path) -> dict:
    path = root / "cluster.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _save(root: Path, state: dict) -> None:
    (root / "cluster.json").write_text(json.dumps(state, indent=2) + "\n")


def _start(root: Path, state: dict, name: str, argv: list[str], user: str | None = None) -> int:
    log = open(root / "log" / f"{name}.out", "ab")  # noqa: SIM115 (the daemon keeps it)
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    state["pids"][name] = proc.pid
    _save(root, state)
    return proc.pid


def _wait(what: str, test, timeout: float = 60.0, root: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    pids = _state(root).get("pids", {}) if root is not None else {}
    while time.monotonic() < deadline:
        if test():
            return
        if any(not alive(pid) for pid in pids.values()):
            break
        time.sleep(0.2)
    logs = ""
    if root is not None:
        for path in sorted((root / "log").glob("*")):
            tail = path.read_text(errors="replace").splitlines()[-5:]
            logs += f"\n--- {path.name}\n" + "\n".join(tail)
    died = [name for name, pid in pids.items() if not alive(pid)]
    why = f"{', '.join(died)} exited" if died else f"not ready in {timeout:.0f} s"
    raise RuntimeError(f"{what} did not come up ({why}){logs}")


def _quiet(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def node_line() -> str:
    """This machine's node line (``slurmd -C``), addressed on loopback."""
    first = _quiet(["slurmd", "-C"]).stdout.splitlines()[0]
    return f"{first} NodeAddr=127.0.0.1 State=UNKNOWN"


def write_configs(root: Path, db: str) -> Path:
    host = socket.gethostname().split(".")[0]
    conf = root / "etc"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "slurm.conf").write_text(
        f"""ClusterName={CLUSTER}
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=30
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=5,sched_interval=5
KillWait=5
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
JobRequeue=1
{node_line()}
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
    )
    dbd = conf / "slurmdbd.conf"
    dbd.write_text(
        f"""AuthType=auth/munge
DbdHost={host}
DbdAddr=127.0.0.1
SlurmUser=root
PidFile={root}/run/slurmdbd.pid
LogFile={root}/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc={db}
"""
    )
    dbd.chmod(0o600)
    return conf / "slurm.conf"


def env_for(root: Path) -> dict[str, str]:
    """The environment Slurm's commands need to find this cluster."""
    return {"SLURM_CONF": str(root / "etc" / "slurm.conf")}


def up(root: Path = DEFAULT_DIR) -> dict:
    """Start the cluster; returns its state (PIDs, paths, seconds)."""
    try:
        return _up(root)
    except BaseException:
        down(root)
        raise


def _up(root: Path) -> dict:
    old = _state(root)
    running = [n for n, pid in old.get("pids", {}).items() if alive(pid)]
    if running:
        raise RuntimeError(f"a cluster is already up in {root} ({', '.join(running)}); run down")
    if DB_SOCKET.exists() and _quiet(["mariadb-admin", "ping"]).returncode == 0:
        raise RuntimeError(f"another MariaDB answers on {DB_SOCKET}; stop it first")
    t0 = time.monotonic()
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("log", "run", "state", "spool", "db"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # MariaDB runs as user mysql and must reach root/db
    db = f"slurm_acct_{int(time.time())}"
    state: dict = {"dir": str(root), "pids": {}, "db": db, "conf": str(write_configs(root, db))}
    os.environ.update(env_for(root))
    # munge: the package made the key; munged refuses to run as root
    Path("/run/munge").mkdir(exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    _start(root, state, "munged", ["munged", "--foreground", "--force"], user="munge")
    _wait("munged", lambda: _quiet(["munge", "-n"]).returncode == 0, root=root)
    # a private MariaDB data folder, on the default socket, no TCP
    shutil.chown(root / "db", "mysql", "mysql")
    subprocess.run(
        [
            "mariadb-install-db",
            "--user=mysql",
            f"--datadir={root / 'db'}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    Path("/run/mysqld").mkdir(exist_ok=True)
    shutil.chown("/run/mysqld", "mysql", "mysql")
    _start(
        root,
        state,
        "mariadbd",
        [
            "mariadbd",
            "--user=mysql",
            f"--datadir={root / 'db'}",
            "--skip-networking",
            f"--socket={DB_SOCKET}",
            "--pid-file=/run/mysqld/msmkit-test.pid",
        ],
    )
    _wait("MariaDB", lambda: _quiet(["mariadb-admin", "ping"]).returncode == 0, root=root)
    _start(root, state, "slurmdbd", ["slurmdbd", "-D"])
    _wait(
        "slurmdbd",
        lambda: _quiet(["sacctmgr", "-n", "list", "cluster"]).returncode == 0,
        root=root,
    )
    _quiet(["sacctmgr", "-i", "add", "cluster", CLUSTER])
    _start(root, state, "slurmctld", ["slurmctld", "-D", "-i"])
    _start(root, state, "slurmd", ["slurmd", "-D"])
    _wait(
        "the node",
        lambda: _quiet(["sinfo", "-h", "-o", "%t"]).stdout.strip() == "idle",
        root=root,
    )
    _wait(
        "accounting",
        lambda: CLUSTER in _quiet(["sacctmgr", "-n", "-P", "list", "cluster"]).stdout,
        root=root,
    )
    state["seconds_up"] = round(time.monotonic() - t0, 2)
    _save(root, state)
    return state


def down(root: Path = DEFAULT_DIR) -> float:
    """Stop the PIDs this script started, last started first; returns the seconds it took."""
    t0 = time.monotonic()
    state = _state(root)
    pids = state.get("pids", {})
    for name in reversed(list(pids)):
        pid = pids[name]
        if not alive(pid):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 15
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    state["pids"] = {}
    if state:
        _save(root, state)
    return time.monotonic() - t0


def is_up(root: Path = DEFAULT_DIR) -> bool:
    state = _state(root)
    pids = state.get("pids", {})
    if not pids or not all(alive(p) for p in pids.values()):
        return False
    env = {**os.environ, **env_for(root)}
    out = subprocess.run(
        ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=env, timeout=30
    )
    return out.returncode == 0 and bool(out.stdout.strip())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--install", action="store_true", help="apt-get the packages first")
    args = parser.parse_args(argv)
    if args.action == "up":
        if args.install:
            print(f"packages installed in {install():.1f} s", flush=True)
        state = up(args.dir)
        print(f"slurm up in {state['seconds_up']:.1f} s: export SLURM_CONF={state['conf']}")
    elif args.action == "down":
        print(f"slurm down in {down(args.dir):.1f} s")
    else:
        ok = is_up(args.dir)
        print("up" if ok else "down")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
