"""`make bench`: perdure against the official SDK 3.0 + testing 1.4 in-memory runner.

    python benchmarks/run.py [--quick] [--runs K] [--only W1-1000,W2-1000] [--side perdure|peer|both]

Each (workload, side) runs in a fresh subprocess (`worker.py`), so peak RSS is per
workload; with `--runs K` the median time of K runs is reported. perdure runs on its
default SQLite store (a temp-dir file) through the engine and the in-process link; the
peer runs in its own venv, `benchmarks/.peer-venv`, which this script creates on first
use. A workload perdure cannot run yet prints "n/a". The cold-start rows (`coldstart.py`:
`import perdure`, and import + decorate + first invocation, beside the official SDK's)
run with everything or with `--only COLD`; the THROUGHPUT row (`throughput.py`) and the
MANY WORKERS rows (`many_workers.py`: 1, 2 and 3 `perdure serve` workers on one PostgreSQL
database) with everything or with `--only THROUGHPUT` / `--only WORKERS`. perdure's W1 rows
are also shown against the disk's commit rate, measured in the same run (`disk.py`), with
their CPU time per step. Results also go to `benchmarks/results/bench-<UTC time>.json`.

Benchmarks measure; they never assert. The targets are printed beside the figures with
PASS / MISS.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import coldstart  # noqa: E402
import many_workers  # noqa: E402
import workloads  # noqa: E402

PEER_VENV = HERE / ".peer-venv"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEER_PACKAGES = (
    "aws-durable-execution-sdk-python==3.0.0",
    "aws-durable-execution-sdk-python-testing==1.4.*",
    # perdure's server, which tests/e2e/test_official_sdk.py runs in this venv (the `server` extra)
    "uvicorn>=0.30,<1",
    "h11>=0.16",
)
RESULTS = HERE / "results"


def ensure_peer_venv() -> None:
    """Create the peer venv with the official SDK and its testing package (idempotent).

    Processes that ask at once (the test suite's workers) take turns on a lock file: the
    first installs, the others find the venv ready."""
    stamp = PEER_VENV / ".installed"
    wanted = "\n".join(PEER_PACKAGES)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    PEER_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(PEER_VENV.parent / ".peer-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return
        print(f"installing the peer (official SDK 3.0 + testing 1.4) into {PEER_VENV} ...", flush=True)
        if not PEER_PYTHON.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(PEER_PYTHON), "-m", "pip", "install", "--quiet", *PEER_PACKAGES], check=True)
        stamp.write_text(wanted)


def run_one(side: str, key: str, timeout: float, *options: str) -> dict[str, Any]:
    python = str(PEER_PYTHON) if side == "peer" else sys.executable
    env = dict(os.environ, PYTHONHASHSEED="0")
    try:
        proc = subprocess.run(
            [python, str(HERE / "worker.py"), side, key, *options],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=HERE.parent,
        )
    except subprocess.TimeoutExpired:
        return {
            "side": side,
            "workload": key,
            "ok": False,
            "unsupported": False,
            "error": f"timeout {timeout}s",
        }
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"side": side, "workload": key, "ok": False, "unsupported": False, "error": " | ".join(tail)}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def measure(side: str, key: str, runs: int, timeout: float) -> dict[str, Any]:
    if side != "perdure" or workloads.find(key).family != "W1":
        return merge([run_one(side, key, timeout) for _ in range(runs)])
    samples = []
    for _ in range(runs):
        sample = run_one(side, key, timeout)
        # The diagnostic beside it, in a fresh process too (`worker.py --without-fsync`):
        # its CPU time, or nothing if it failed (the row stands without it).
        unsynced = run_one(side, key, timeout, "--without-fsync")
        if sample.get("ok") and unsynced.get("ok"):
            sample["cpu_seconds_without_fsync"] = unsynced["cpu_seconds"]
        samples.append(sample)
    return merge(samples)


def merge(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from `worker.py`'s runs of a workload: the first failed run, or the median run."""
    good = [s for s in samples if s.get("ok")]
    if len(good) < len(samples):
        return next(s for s in samples if not s.get("ok"))
    # Report the median run itself (its invocations too), not a mix of runs.
    merged = dict(sorted(good, key=lambda s: s["seconds"])[len(good) // 2])
    merged["seconds"] = statistics.median(s["seconds"] for s in good)
    merged["runs"] = [round(s["seconds"], 4) for s in good]
    merged["peak_mb"] = max(s["peak_mb"] for s in good)
    merged["cpu_seconds"] = statistics.median(s["cpu_seconds"] for s in good)
    unsynced = [s["cpu_seconds_without_fsync"] for s in good if "cpu_seconds_without_fsync" in s]
    if unsynced:
        merged["cpu_seconds_without_fsync"] = statistics.median(unsynced)
    else:
        merged.pop("cpu_seconds_without_fsync", None)
    rates = [s["commit_rate"] for s in good if "commit_rate" in s]
    if rates:
        merged["commit_rate"] = {
            key: statistics.median(r[key] for r in rates)
            for key in ("commits_per_s", "cpu_us_per_commit", "cpu_us_per_commit_without_fsync")
            if all(key in r for r in rates)
        }
    replays = [s["invocations"][-1] for s in good if len(s.get("invocations", [])) >= 2]
    if replays:
        # The last invocation of W4 replays the N recorded steps (and then returns).
        merged["replay_seconds"] = statistics.median(replays)
    return merged


# ---------------------------------------------------------------------------- report


def _cell(row: dict[str, Any] | None, fmt: str = "{:.3f}") -> str:
    if row is None:
        return "-"
    if row.get("ok"):
        return fmt.format(row["seconds"])
    return "n/a" if row.get("unsupported") else "FAIL"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "workload",
        "perdure s",
        "peer s",
        "ratio",
        "perdure steps/s",
        "peer steps/s",
        "perdure MB",
        "peer MB",
    )
    lines = [head]
    for row in rows:
        ours, peer, wl = row["perdure"], row["peer"], row["w"]
        ratio = "-"
        if ours and peer and ours.get("ok") and peer.get("ok"):
            ratio = f"{peer['seconds'] / ours['seconds']:.1f}x"

        def rate(r: dict[str, Any] | None, steps: int = wl.steps) -> str:
            return f"{steps / r['seconds']:,.0f}" if r and r.get("ok") else _cell(r)

        def mb(r: dict[str, Any] | None) -> str:
            return f"{r['peak_mb']:.0f}" if r and r.get("ok") else _cell(r)

        lines.append((wl.key, _cell(ours), _cell(peer), ratio, rate(ours), rate(peer), mb(ours), mb(peer)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def faces(by_key: dict[str, dict[str, Any]], chosen: list[workloads.Workload]) -> list[dict[str, Any]]:
    """perdure's async-face rows beside their sync twins: seconds, peak MB, async/sync time."""
    out: list[dict[str, Any]] = []
    for wl in chosen:
        if wl.twin is None:
            continue
        mine, twin = by_key.get(wl.key, {}).get("perdure"), by_key.get(wl.twin, {}).get("perdure")
        both = bool(mine and twin and mine.get("ok") and twin.get("ok"))
        out.append(
            {
                "async": wl.key,
                "sync": wl.twin,
                "async_seconds": mine["seconds"] if both and mine else None,
                "sync_seconds": twin["seconds"] if both and twin else None,
                "async_mb": mine["peak_mb"] if both and mine else None,
                "sync_mb": twin["peak_mb"] if both and twin else None,
                "ratio": mine["seconds"] / twin["seconds"] if both and mine and twin else None,
            }
        )
    return out


def faces_table(rows: list[dict[str, Any]]) -> str:
    head = ("async face", "async s", "sync twin", "sync s", "async/sync", "async MB", "sync MB")
    lines = [head]
    for r in rows:

        def num(value: float | None, fmt: str) -> str:
            return "FAIL" if value is None else fmt.format(value)

        lines.append(
            (
                r["async"],
                num(r["async_seconds"], "{:.3f}"),
                r["sync"],
                num(r["sync_seconds"], "{:.3f}"),
                num(r["ratio"], "{:.2f}x"),
                num(r["async_mb"], "{:.0f}"),
                num(r["sync_mb"], "{:.0f}"),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        "  ".join(
            c.ljust(w) if i in (0, 2) else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return (
        "async face against the sync face (perdure; async/sync < 1: the async face is faster)\n"
        + "\n".join(out)
    )


CPU_PER_STEP_US = 250
"""The target for the process CPU time of one sequential step (W1) on the default store."""


def disk(by_key: dict[str, dict[str, Any]], chosen: list[workloads.Workload]) -> list[dict[str, Any]]:
    """perdure's W1 rows against the disk's commit rate measured beside them (`disk.py`)."""
    out: list[dict[str, Any]] = []
    for wl in chosen:
        r = by_key.get(wl.key, {}).get("perdure")
        if wl.family != "W1" or not r or not r.get("ok") or "commit_rate" not in r:
            continue
        rate = r["commit_rate"]
        steps_per_s = wl.steps / r["seconds"]
        out.append(
            {
                "workload": wl.key,
                "commits_per_s": rate["commits_per_s"],
                "cpu_us_per_commit": rate["cpu_us_per_commit"],
                "cpu_us_per_commit_without_fsync": rate.get("cpu_us_per_commit_without_fsync"),
                "steps_per_s": steps_per_s,
                "of_commit_rate": steps_per_s / rate["commits_per_s"],
                "cpu_us_per_step": r["cpu_seconds"] / wl.steps * 1e6,
                "cpu_us_around_commit": r["cpu_seconds"] / wl.steps * 1e6 - rate["cpu_us_per_commit"],
                "wall_us_per_step": r["seconds"] / wl.steps * 1e6,
                "cpu_us_per_step_without_fsync": (
                    r["cpu_seconds_without_fsync"] / wl.steps * 1e6
                    if "cpu_seconds_without_fsync" in r
                    else None
                ),
            }
        )
    return out


def disk_table(rows: list[dict[str, Any]]) -> str:
    lines = ["one execution against the disk (SQLite, WAL, synchronous=FULL; a step is one commit):"]
    for r in rows:
        bare = r["cpu_us_per_commit_without_fsync"]
        lines.append(
            f"  COMMIT-RATE   {r['commits_per_s']:7,.0f} commits/s  CPU {r['cpu_us_per_commit']:4.0f} us/commit"
            + ("" if bare is None else f" ({bare:.0f} without the fsync)")
            + f"  (one-row transactions beside {r['workload']}'s store, just before it)"
        )
        lines.append(
            f"  {r['workload']:<12}  {r['steps_per_s']:7,.0f} steps/s    = {r['of_commit_rate']:.0%} of the"
            f" commit rate;  CPU {r['cpu_us_per_step']:4.0f} us/step ({r['cpu_us_per_commit']:.0f} the"
            f" commit's, {r['cpu_us_around_commit']:.0f} around it) of {r['wall_us_per_step']:.0f} us wall"
            f" (target <= {CPU_PER_STEP_US})"
        )
        unsynced = r["cpu_us_per_step_without_fsync"]
        if unsynced is not None:
            fsync = r["cpu_us_per_step"] - unsynced
            text = (
                f"  {'':<12}  without fsync at commit (synchronous=NORMAL, a diagnostic): CPU {unsynced:4.0f}"
                f" us/step: the fsync costs the process {fsync:.0f} us a step"
            )
            if bare is not None:
                text += f" ({r['cpu_us_per_commit'] - bare:.0f} a bare commit's)"
            lines.append(text)
    return "\n".join(lines)


def targets(by_key: dict[str, dict[str, Any]], quick: bool) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) rows; 'n/a' where a figure is missing."""

    def ok(side: str, key: str) -> dict[str, Any] | None:
        r = by_key.get(key, {}).get(side)
        return r if r and r.get("ok") else None

    small, large = (100, 500) if quick else (1000, 5000)
    out: list[tuple[str, str, str]] = []

    def add(name: str, value: float | None, text: str, passed: bool | None) -> None:
        if value is None:
            out.append((name, "n/a", "n/a"))
        else:
            out.append((name, text, "PASS" if passed else "MISS"))

    for n in (small, large):
        r = ok("perdure", f"W1-{n}")
        rate = n / r["seconds"] if r else None
        add(
            f"W1-{n} >= 2,500 steps/s",
            rate,
            f"{rate:,.0f} steps/s" if rate else "",
            bool(rate and rate >= 2500),
        )
    for n in (small, large):
        r = ok("perdure", f"W1-{n}")
        cpu = r["cpu_seconds"] / n * 1e6 if r and "cpu_seconds" in r else None
        add(
            f"W1-{n} CPU <= {CPU_PER_STEP_US} us/step",
            cpu,
            f"{cpu:.0f} us/step" if cpu is not None else "",
            cpu is not None and cpu <= CPU_PER_STEP_US,
        )
    a, b = ok("perdure", f"W1-{small}"), ok("perdure", f"W1-{large}")
    growth = b["seconds"] / a["seconds"] if a and b else None
    limit = 5.5 * large / small / 5
    add(
        f"W1 linear: t({large}) <= {limit:.1f} x t({small})",
        growth,
        f"{growth:.2f}x" if growth else "",
        bool(growth and growth <= limit),
    )
    for n in (small, large):
        w4, peer_w4 = ok("perdure", f"W4-{n}"), ok("peer", f"W4-{n}")
        per_op = w4["replay_seconds"] / n * 1e6 if w4 and "replay_seconds" in w4 else None
        peer_text = ""
        if peer_w4 and "replay_seconds" in peer_w4:
            peer_text = f" (peer {peer_w4['replay_seconds'] / n * 1e6:.0f})"
        add(
            f"W4-{n} replay <= 30 us/op",
            per_op,
            f"{per_op:.1f} us/op{peer_text}" if per_op is not None else "",
            per_op is not None and per_op <= 30,
        )
    for key, goal in (
        (next((k for k in by_key if k.startswith("W2-")), "W2"), 5.0),
        (next((k for k in by_key if k.startswith("MAP-")), "MAP"), 5.0),
        ("W3-100", 3.0),
        (next((k for k in by_key if k.startswith("W5-")), "W5"), 3.0),
        (next((k for k in by_key if k.startswith("W5wait-")), "W5wait"), 3.0),
    ):
        ours, peer = ok("perdure", key), ok("peer", key)
        ratio = peer["seconds"] / ours["seconds"] if ours and peer else None
        add(
            f"{key} >= {goal:.0f}x peer",
            ratio,
            f"{ratio:.1f}x" if ratio else "",
            bool(ratio and ratio >= goal),
        )
    big = next((k for k in by_key if k.startswith("MAP-")), None)
    r = ok("perdure", big) if big else None
    add(
        f"{big or 'MAP'} peak < 200 MB",
        r["peak_mb"] if r else None,
        f"{r['peak_mb']:.0f} MB" if r else "",
        bool(r and r["peak_mb"] < 200),
    )
    return out


def throughput(quick: bool, timeout: float, runs: int) -> dict[str, Any]:
    """The THROUGHPUT row: 100 executions x 20 steps started together (`throughput.py`),
    group commit off then on, in a fresh process per pair; `max(runs, 5)` pairs (one with
    `--quick`): a single pair's ratio swings by a fifth either way on a shared machine.
    Reports the medians and the median of the pairs' ratios; target: on >= 2x off."""
    executions = "20" if quick else "100"
    pairs: list[list[dict[str, Any]]] = []
    for _ in range(1 if quick else max(runs, 5)):
        try:
            proc = subprocess.run(
                [sys.executable, str(HERE / "throughput.py"), "--json", "--executions", executions],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=HERE.parent,
            )
            pairs.append(json.loads(proc.stdout.splitlines()[-1]))
        except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError) as exc:
            print(f"THROUGHPUT: FAILED ({type(exc).__name__})")
            return {}
    ratios = [on["steps_per_s"] / off["steps_per_s"] for on, off in pairs]
    print(
        f"\nthroughput ({executions} executions x 20 steps started together, SQLite synchronous=FULL;"
        f" medians of {len(pairs)} pairs, each in a fresh process):"
    )
    for index, mode in ((0, "on "), (1, "off")):
        rows = [pair[index] for pair in pairs]

        def median(key: str, rows: list[dict[str, Any]] = rows) -> float:
            return statistics.median(r[key] for r in rows)

        print(
            f"  group commit {mode}  {median('steps_per_s'):7,.0f} steps/s"
            f"  wall {median('wall_us_per_step'):5.0f} us/step  CPU {median('cpu_us_per_step'):5.0f} us/step"
            f" ({median('cpu_share'):.0%} of wall)  {median('commits'):,.0f} commits"
        )
    ratio = statistics.median(ratios)
    print(
        f"  group commit on / off = {ratio:.2f}x, pair by pair {min(ratios):.2f}-{max(ratios):.2f}x"
        f" (target >= 2x): {'PASS' if ratio >= 2 else 'MISS'}"
    )
    return {"pairs": pairs, "ratios": ratios, "median_ratio": ratio}


def workers(quick: bool, timeout: float) -> dict[str, Any]:
    """The MANY WORKERS rows: 100 executions x 20 steps started together through 1, 2 and 3
    `perdure serve` workers on one PostgreSQL database (`many_workers.py`, in a fresh
    process); skipped, saying why, without a PostgreSQL server."""
    executions, steps = (20 if quick else 100), 20
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / "many_workers.py"), "--json", "--executions", str(executions)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=HERE.parent,
        )
        result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError) as exc:
        print(f"MANY WORKERS: FAILED ({type(exc).__name__})")
        return {}
    print("\n" + many_workers.report(result, executions, steps))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small N: a smoke run in under a minute")
    parser.add_argument(
        "--runs", type=int, default=1, help="runs per (workload, side); the median is reported"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated workload keys or families (W1,W4-5000,...)"
    )
    parser.add_argument("--side", choices=("both", "perdure", "peer"), default="both")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument(
        "--install-peer",
        action="store_true",
        help="only create the peer venv (tests/e2e/test_official_sdk.py uses it)",
    )
    args = parser.parse_args(argv)
    if args.install_peer:
        ensure_peer_venv()
        return 0

    catalogue = workloads.catalogue(args.quick)
    chosen = list(catalogue.values())
    cold = not args.only  # the cold-start rows: with everything, or `--only COLD`
    if args.only:
        wanted = {x.strip() for x in args.only.split(",") if x.strip()}
        cold = "COLD" in wanted
        # An async-face row is reported against its sync twin, so the twin runs too.
        wanted |= {w.twin for w in chosen if w.twin and (w.key in wanted or w.family in wanted)}
        chosen = [w for w in chosen if w.key in wanted or w.family in wanted]
    sides = ("perdure", "peer") if args.side == "both" else (args.side,)
    if "peer" in sides:
        ensure_peer_venv()

    rows: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    for wl in chosen:
        row: dict[str, Any] = {"w": wl, "perdure": None, "peer": None}
        for side in sides:
            row[side] = measure(side, wl.key, args.runs, args.timeout)
            r = row[side]
            shown = f"{r['seconds']:.3f}s" if r.get("ok") else ("n/a" if r.get("unsupported") else "FAIL")
            print(f"  {wl.key:<14} {side:<8} {shown}", flush=True)
        rows.append(row)
        by_key[wl.key] = {"perdure": row["perdure"], "peer": row["peer"]}

    print()
    print(table(rows))
    print()
    face_rows = faces(by_key, chosen)
    if face_rows:
        print(faces_table(face_rows))
        print()
    disk_rows = disk(by_key, chosen)
    if disk_rows:
        print(disk_table(disk_rows))
        print()
    cold_start: dict[str, dict[str, dict[str, float]]] = {}
    if cold:
        pythons = {"perdure": sys.executable} if "perdure" in sides else {}
        if "peer" in sides:
            pythons["peer"] = str(PEER_PYTHON)
        cold_start = coldstart.measure(pythons, 3 if args.quick else max(args.runs, 9))
        print(coldstart.table(cold_start))
        print()
    checks = targets(by_key, args.quick)
    if "perdure" in cold_start:
        ms = cold_start["perdure"]["import"]["ms"]
        checks.append(("import perdure <= 60 ms", f"{ms:.1f} ms", "PASS" if ms <= 60 else "MISS"))
    width = max(len(t[0]) for t in checks)
    print("targets (perdure):")
    for name, value, verdict in checks:
        print(f"  {name.ljust(width)}  {value:>26}  {verdict}")
    failures = [
        f"{r['w'].key} {s}: {r[s]['error']}"
        for r in rows
        for s in sides
        if r[s] and not r[s].get("ok") and not r[s].get("unsupported")
    ]
    unsupported = sorted({r[s]["error"] for r in rows for s in sides if r[s] and r[s].get("unsupported")})
    for line in failures:
        print(f"FAILED {line}")
    for line in unsupported:
        print(f"n/a: {line}")

    concurrent: dict[str, Any] = {}
    if "perdure" in sides and (not args.only or "THROUGHPUT" in args.only.split(",")):
        concurrent = throughput(args.quick, args.timeout, args.runs)
    served: dict[str, Any] = {}
    if "perdure" in sides and (not args.only or "WORKERS" in args.only.split(",")):
        served = workers(args.quick, args.timeout)

    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    report = {
        "when": stamp,
        "quick": args.quick,
        "runs": args.runs,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "workloads": [
            {
                "key": r["w"].key,
                "family": r["w"].family,
                "n": r["w"].n,
                "steps": r["w"].steps,
                "perdure": r["perdure"],
                "peer": r["peer"],
            }
            for r in rows
        ],
        "targets": [{"target": t, "measured": v, "verdict": s} for t, v, s in checks],
        "faces": face_rows,
        "disk": disk_rows,
        "throughput": concurrent,
        "many_workers": served,
        "cold_start": cold_start,
    }
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {path.relative_to(HERE.parent)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
