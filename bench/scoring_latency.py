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


def measure(data_dir: Path, repeats: int = 200) -> dict | None:
    """p50/p95 ms of POST /score for one ticket, with reasons (the default) and without;
    the machine's load average beside them (other work on the cores shows up in the
    figures). None without an escalation champion."""
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
            for explain, times in samples.items():
                for _ in range(repeats):
                    begun = time.perf_counter()
                    client.post(
                        "/score", json=ticket, params={"explain": explain}
                    ).raise_for_status()
                    times.append((time.perf_counter() - begun) * 1000)
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
        "load_average_1m": os.getloadavg()[0],
        "target_p95_ms": TARGET_P95_MS,
        "within_target": p95 < TARGET_P95_MS,
    }
