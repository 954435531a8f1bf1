"""The schemathesis fuzzing of tests/security/test_fuzz.py, run longer: every operation of our
OpenAPI document with many generated examples (default 200 each) against a real `statuspage api`
process, with a valid key and page. Prints the operations run, the examples asked for, the
failures and the time taken; exit status 0 when nothing failed.

Run from the repository root:

    .venv/bin/python bench/fuzz.py [--examples 200] [-k <pytest expression>]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=200, help="examples per operation")
    parser.add_argument("-k", dest="expression", default=None, help="pytest -k expression")
    args = parser.parse_args()
    command = [
        sys.executable, "-m", "pytest", "tests/security/test_fuzz.py", "-q", "-p", "no:cacheprovider",
        "--basetemp", f"/tmp/statuspage-fuzz-{os.getpid()}",
    ]  # fmt: skip
    if args.expression:
        command += ["-k", args.expression]
    env = {**os.environ, "STATUSPAGE_FUZZ_EXAMPLES": str(args.examples)}
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", tail)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) failed", tail)) else 0
    skipped = int(m.group(1)) if (m := re.search(r"(\d+) skipped", tail)) else 0
    if result.returncode not in (0, 1):
        print(result.stdout[-4000:], result.stderr[-2000:])
    elif failed:
        print(result.stdout[-20000:])
    print(
        f"fuzzing: {passed + failed} operations, up to {args.examples} examples each, "
        f"{failed} failing, {skipped} skipped, in {elapsed:.0f} s"
    )
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
