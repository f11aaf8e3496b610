"""Latency of `supportops serve` for one ticket over real HTTP, on a scale's serving copy
and model registry: the service runs in its own process, as in production, and a client
posts the same new ticket again and again on one keep-alive connection (reasons included,
the default), after a few warm-up requests that load the model, the lexicon and lingua."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx

from bench.dashboard_latency import _percentile
from ml import registry

TARGET_P95_MS = 50.0
WARM_UP = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _new_ticket(serving: Path) -> dict:
    """A ticket like the newest one (same account and requester), an hour after it."""
    with duckdb.connect(str(serving), read_only=True) as con:
        account, requester, created = con.execute(
            "SELECT account_id, requester_id, created_at + INTERVAL 1 HOUR "
            "FROM marts.fct_tickets ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    return {"ticket_id": 987_654_321, "created_at": created.isoformat(), "channel": "email",
            "category": "billing", "priority": "high", "tier": "standard",
            "account_id": account, "requester_id": requester,
            "requester_email": "bench@example.com",
            "subject": "Charged twice this month",
            "description": "We were charged twice and nobody has answered. Please fix it."}  # fmt: skip


def process_cpu_ms(pid: int) -> float | None:
    """CPU time the process's threads have run so far (Linux schedstat, nanoseconds; None
    elsewhere): per request, what the service itself spent, whatever else the cores ran."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e6
    except (OSError, ValueError, IndexError):
        return None


def _cpu_figures(samples: list[float], prefix: str) -> dict[str, float | None]:
    if not samples:
        return {f"{prefix}cpu_p50_ms": None, f"{prefix}cpu_p95_ms": None}
    return {f"{prefix}cpu_p50_ms": round(statistics.median(samples), 2),
            f"{prefix}cpu_p95_ms": round(_percentile(samples, 0.95), 2)}  # fmt: skip


def measure(data_dir: Path, repeats: int = 200) -> dict | None:
    """p50/p95 ms of POST /score for one ticket, with reasons (the default) and without;
    the machine's load average beside them (other work on the cores shows up in the
    wall-clock figures) and the service process's CPU time per request (which it does
    not). None without an escalation champion."""
    if registry.champion(data_dir / "models", "escalation") is None:
        return None
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTOPS_")}
    env |= {"SUPPORTOPS_DATA_DIR": str(data_dir), "SUPPORTOPS_DEMO": "1"}
    command = [sys.executable, "-m", "orchestration.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    ticket = _new_ticket(data_dir / "serving.duckdb")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            started = time.time()
            while True:
                try:
                    client.get("/health").raise_for_status()
                    break
                except httpx.HTTPError:
                    if process.poll() is not None or time.time() - started > 180:
                        raise RuntimeError("the scoring service did not start") from None
                    time.sleep(0.5)
            for _ in range(WARM_UP):
                client.post("/score", json=ticket).raise_for_status()
            samples = {"true": [], "false": []}
            cpu = {"true": [], "false": []}
            for explain, times in samples.items():
                for _ in range(repeats):
                    cpu_before = process_cpu_ms(process.pid)
                    begun = time.perf_counter()
                    client.post(
                        "/score", json=ticket, params={"explain": explain}
                    ).raise_for_status()
                    times.append((time.perf_counter() - begun) * 1000)
                    cpu_after = process_cpu_ms(process.pid)
                    if cpu_before is not None and cpu_after is not None:
                        cpu[explain].append(cpu_after - cpu_before)
    finally:
        process.terminate()
        process.wait(timeout=30)
    p95 = _percentile(samples["true"], 0.95)
    return {
        "requests": repeats,
        "p50_ms": round(statistics.median(samples["true"]), 2),
        "p95_ms": round(p95, 2),
        "without_reasons_p50_ms": round(statistics.median(samples["false"]), 2),
        "without_reasons_p95_ms": round(_percentile(samples["false"], 0.95), 2),
        **_cpu_figures(cpu["true"], ""),
        **_cpu_figures(cpu["false"], "without_reasons_"),
        "load_average_1m": os.getloadavg()[0],
        "target_p95_ms": TARGET_P95_MS,
        "within_target": p95 < TARGET_P95_MS,
    }
