"""Run one workload on one side in this (fresh) process and print one JSON line.

    python benchmarks/worker.py perdure|peer WORKLOAD_KEY
    python benchmarks/worker.py perdure W1-N --without-fsync

`run.py` starts one of these per (workload, side), so peak RSS (`ru_maxrss`) belongs to
that workload alone. The peer side runs under `benchmarks/.peer-venv/bin/python`. Besides
the wall time it reports the process CPU time of the run (all threads), and for perdure's
W1 rows the disk's commit rate, measured just before in the directory of the run's store
(`disk.py`). With `--without-fsync` (perdure's W1 rows only, a diagnostic `run.py` runs
beside each W1 run) the store's commits do not fsync (`synchronous=NORMAL`: not the
default, since a power loss may then lose the last acknowledged commits), and no commit
rate is measured.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads


def _peak_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(argv: list[str]) -> int:
    side, key = argv[0], argv[1]
    without_fsync = argv[2:] == ["--without-fsync"]
    workload = workloads.find(key)
    out: dict[str, Any] = {"side": side, "workload": key}
    if without_fsync and (side != "perdure" or workload.family != "W1"):
        out.update(ok=False, unsupported=True, error="--without-fsync is for perdure's W1 rows only")
        print(json.dumps(out))
        return 0
    if side == "peer":
        import peer_side as runner
    else:
        import perdure_side as runner  # type: ignore[no-redef]
    if side == "peer" and workload.is_async:
        out.update(ok=False, unsupported=True, error="the official SDK has no async face")
        print(json.dumps(out))
        return 0
    try:
        api = runner.API if side == "peer" else runner.api()  # type: ignore[attr-defined]
        prepared = runner.prepare(workload.build(api, workload.n))
        with tempfile.TemporaryDirectory(prefix="perdure-bench-") as tmp:
            if side == "perdure" and workload.family == "W1" and not without_fsync:
                import disk

                out["commit_rate"] = disk.commit_rate(tmp)
            cpu = time.process_time()
            started = time.perf_counter()
            status, value, invocations = runner.run(
                prepared,
                {"n": workload.n},
                str(Path(tmp) / "perdure.db"),
                **({"durability": "normal"} if without_fsync else {}),
            )
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
    except Exception as exc:
        unsupported = type(exc).__name__ == "Unsupported"
        out.update(ok=False, unsupported=unsupported, error=f"{type(exc).__name__}: {exc}"[:400])
        print(json.dumps(out))
        return 0
    ok = status == "SUCCEEDED" and value == workload.expect(workload.n)
    out.update(
        ok=ok,
        unsupported=False,
        status=status,
        seconds=seconds,
        cpu_seconds=cpu,
        peak_mb=_peak_mb(),
        invocations=[round(x, 6) for x in invocations],
    )
    if not ok:
        out["error"] = (
            f"status {status}, result {'as expected' if value == workload.expect(workload.n) else 'WRONG'}"
        )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
