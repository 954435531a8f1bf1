"""Cold start of `statuspage serve` with the embedded PostgreSQL and Redis, until /readyz answers 200.

What is measured: wall time from spawning `statuspage serve` (no STATUSPAGE_DATABASE_URL or
STATUSPAGE_REDIS_URL, so it starts embedded servers) until `GET /readyz` first answers 200, polled
every 20 ms on a fresh connection (timeout 60 s). All runs share one fresh temporary
STATUSPAGE_DATA_DIR: the first run pays for initdb, CREATE DATABASE and the migrations; the later
runs (--runs, default 3) find everything in place. After each run the service gets SIGTERM, the
script waits for it to exit and checks that no process is left on the data directory.

Baseline, measured in the same run and interleaved with the service runs (one sample before the
first run and one before each later run): wall time of `python -c "import app.main"`, i.e.
interpreter start plus importing the application, the floor under any start of the service.

Target: median later run under 5 s. Exit status 0 when the target passes and every run stopped
cleanly, 1 otherwise.

Run from the repository root:

    .venv/bin/python bench/cold_start.py [--runs 3] [--timeout 60] [--keep-data]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    PYTHON,
    REPO_ROOT,
    STATUSPAGE,
    Cleanup,
    cleanup_on_exit,
    free_port,
    kill_leftovers,
    log_findings,
    make_data_dir,
    median,
    service_env,
    start,
    stop,
    wait_ready,
)

HOST = "127.0.0.1"
TARGET_SECONDS = 5.0
BASELINE_COMMAND = [PYTHON, "-c", "import app.main"]


@dataclass
class Run:
    label: str
    ready_seconds: float
    stop_seconds: float
    returncode: int | None
    killed: bool
    leftovers: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.killed and not self.leftovers


def baseline_sample(env: dict[str, str]) -> float:
    begin = time.perf_counter()
    subprocess.run(BASELINE_COMMAND, cwd=REPO_ROOT, env=env, check=True, timeout=60)
    return time.perf_counter() - begin


def serve_once(
    label: str, data_dir: Path, cleanup: Cleanup, timeout: float, interval: float
) -> Run:
    port = free_port(HOST)
    log = data_dir / f"serve-{label.replace(' ', '-')}.log"
    env = service_env(data_dir)
    begin = time.perf_counter()
    process = start([STATUSPAGE, "serve", "--host", HOST, "--port", str(port)], log, env)
    cleanup.processes.append(process)
    try:
        wait_ready(HOST, port, process=process, timeout=timeout, interval=interval)
        ready = time.perf_counter() - begin
    finally:
        stopped = stop(process)
        cleanup.processes.remove(process)
    leftovers = kill_leftovers(data_dir)
    return Run(
        label=label,
        ready_seconds=ready,
        stop_seconds=stopped.seconds,
        returncode=stopped.returncode,
        killed=stopped.killed,
        leftovers=leftovers,
        findings=log_findings(log),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--runs", type=int, default=3, help="later runs after the first (default 3)"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="readiness timeout per run, s")
    parser.add_argument("--interval", type=float, default=0.02, help="/readyz poll interval, s")
    parser.add_argument("--keep-data", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    baseline: list[float] = []
    runs: list[Run] = []
    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-cold-")
        cleanup.data_dirs.append(data_dir)
        env = service_env(data_dir)
        print(f"data dir: {data_dir}", flush=True)
        for index in range(args.runs + 1):
            baseline.append(baseline_sample(env))
            label = "first" if index == 0 else f"later {index}"
            run = serve_once(label, data_dir, cleanup, args.timeout, args.interval)
            runs.append(run)
            print(
                f"  {label}: ready in {run.ready_seconds:.3f} s; stopped in {run.stop_seconds:.2f} s "
                f"(exit {run.returncode}{', killed' if run.killed else ''}); leftover processes: "
                f"{'; '.join(run.leftovers) if run.leftovers else 'none'}",
                flush=True,
            )
            for finding in run.findings:
                print(f"    log: {finding}", flush=True)

    base = median(baseline)
    first, later = runs[0], runs[1:]
    later_median = median([run.ready_seconds for run in later])
    passed = later_median < TARGET_SECONDS
    print()
    print("cold start of `statuspage serve` (embedded PostgreSQL + Redis) until GET /readyz == 200")
    print(
        f'baseline `python -c "import app.main"` (interpreter + app imports), median of '
        f"{len(baseline)}: {base:.3f} s  (samples: {', '.join(f'{b:.3f}' for b in baseline)})"
    )
    print(
        f"first run (initdb + create database + migrations): {first.ready_seconds:.3f} s  "
        f"ratio to baseline {first.ready_seconds / base:.2f}x"
    )
    for index, run in enumerate(later, start=1):
        print(
            f"later run {index}: {run.ready_seconds:.3f} s  "
            f"ratio to baseline {run.ready_seconds / base:.2f}x"
        )
    print(f"median later run: {later_median:.3f} s  ratio to baseline {later_median / base:.2f}x")
    print(f"target median later run under {TARGET_SECONDS:.0f} s: {'PASS' if passed else 'FAIL'}")
    unclean = [run for run in runs if not run.clean]
    print(
        "clean stops (SIGTERM, no SIGKILL, no leftover processes): "
        f"{len(runs) - len(unclean)}/{len(runs)}; exit codes after SIGTERM: "
        f"{', '.join(str(run.returncode) for run in runs)}"
    )
    return 0 if passed and not unclean else 1


if __name__ == "__main__":
    raise SystemExit(main())
