"""Point-in-time correctness of the feature tables, by rewriting the future.

The tiny clean dataset is built twice: as generated (the session's `tiny_pipeline`), and
from a copy in which every helpdesk ticket and event and every telemetry event on or after
day D is changed or dropped, and the CRM snapshots of days >= D are edited. A feature row
as of D describes the start of D (decisions.md, "Point-in-time features": events strictly
before D and the CRM snapshot of D-1), so every `feat_account_daily` row as of D or
earlier, and every `feat_ticket_at_creation` row of a ticket created before D, must be
identical in both builds. Rows after D must change, or the rewrite proved nothing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import landed_days, run_pipeline

# The bot's first exchange is the one post-creation input feat_ticket_at_creation may use
# (docs/metrics.md: "features are what is known at creation (and the bot's first exchange)").
BOT_EXCHANGE_COLUMNS = [
    "has_bot_exchange",
    "bot_first_reply_seconds",
    "bot_first_reply_chars",
    "bot_first_reply_sentiment",
    "requester_followup_chars",
    "requester_followup_sentiment",
]
ANGRY = "This is terrible and unacceptable, the product is broken again and I am furious."


@dataclass(frozen=True)
class Builds:
    cutoff: pd.Timestamp
    original: Path
    altered: Path
    altered_landing: Path
    original_landing: Path


def _at(value: str) -> pd.Timestamp:
    """A landing timestamp ("...Z") as naive UTC."""
    return pd.Timestamp(value).tz_convert("UTC").tz_localize(None)


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    text = "".join(
        json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
    )
    path.write_text(text)


def rewrite_future(landing: Path, cutoff: pd.Timestamp) -> dict[str, int]:
    """Change or drop everything that happened on or after `cutoff`, in place."""
    changed = {"tickets": 0, "ticket_events": 0, "telemetry": 0, "crm_days": 0}
    dropped_tickets: set[int] = set()
    for day in sorted((landing / "helpdesk").iterdir()):
        tickets = _read_jsonl(day / "tickets.jsonl")
        before = changed["tickets"]
        kept = []
        for t in tickets:
            if _at(t["created_at"]) < cutoff:
                kept.append(t)
                continue
            changed["tickets"] += 1
            # Drop a fifth: enough to change features, not so much that the volume gate
            # (0.5x-2x the trailing median) stops the build.
            if t["ticket_id"] % 5 == 0:
                dropped_tickets.add(t["ticket_id"])
                continue
            t["channel"] = "email" if t["channel"] != "email" else "phone"
            t["category"] = "bug" if t["category"] != "bug" else "billing"
            t["priority"] = "urgent"
            t["description"] = ANGRY
            kept.append(t)
        if changed["tickets"] > before:
            _write_jsonl(day / "tickets.jsonl", kept)

        before = changed["ticket_events"]
        events = []
        for e in _read_jsonl(day / "ticket_events.jsonl"):
            if _at(e["created_at"]) < cutoff:
                events.append(e)
                continue
            changed["ticket_events"] += 1
            if e["ticket_id"] in dropped_tickets:
                continue
            kind = e["event_type"]
            if kind == "solved" and e["ticket_id"] % 2 == 0:
                continue  # the ticket stays open
            if kind == "agent_reply":
                e["handle_seconds"] = (e["handle_seconds"] or 0) * 5 + 60
            elif kind == "escalated":
                e["to_tier"] = 3
            elif kind == "csat_response":
                e["csat_score"] = 6 - e["csat_score"]
            elif kind in ("requester_reply", "bot_reply"):
                e["body"] = ANGRY
            events.append(e)
        if changed["ticket_events"] > before:
            _write_jsonl(day / "ticket_events.jsonl", events)

    for day in sorted((landing / "telemetry").iterdir()):
        path = day / "events.parquet"
        table = pq.read_table(path)
        frame = table.to_pandas()
        future = frame["timestamp"].dt.tz_convert(None) >= cutoff
        if not future.any():
            continue
        changed["telemetry"] += int(future.sum())
        drop = future & (frame.index % 4 == 0)
        frame = frame[~drop].copy()
        future = future[~drop]
        frame.loc[future, "user_id"] = frame.loc[future, "user_id"] + "_alt"
        errors = future & (frame["event"] == "page_view")
        frame.loc[errors, "event"] = "error"
        frame.loc[errors, "error_code"] = "E_ALTERED"
        pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)

    for day in sorted((landing / "crm").iterdir()):
        if pd.Timestamp(day.name) < cutoff:
            continue
        changed["crm_days"] += 1
        subs = pd.read_csv(day / "subscriptions.csv", dtype=str)
        subs["arr"] = (subs["arr"].astype(float) * 1.5 + 1000).round(2).astype(str)
        subs["seats"] = (subs["seats"].astype(int) + 7).astype(str)
        subs["plan"] = "enterprise"
        subs.to_csv(day / "subscriptions.csv", index=False)
        accounts = pd.read_csv(day / "accounts.csv", dtype=str)
        accounts["segment"] = accounts["segment"].map(
            {"smb": "enterprise", "mid_market": "smb", "enterprise": "mid_market"}
        )
        accounts["tier"] = accounts["tier"].map({"vip": "standard", "standard": "vip"})
        accounts.to_csv(day / "accounts.csv", index=False)
    return changed


def _features(serving: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(serving), read_only=True) as con:
        frame = con.execute(f"SELECT * FROM features.{table}").df()
    for column in ("as_of_date", "created_at"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame


@pytest.fixture(scope="module")
def builds(tiny_pipeline, tmp_path_factory) -> Builds:
    days = landed_days(tiny_pipeline.landing)
    cutoff = pd.Timestamp(days[len(days) // 2])
    root = tmp_path_factory.mktemp("point_in_time")
    landing = root / "landing"
    shutil.copytree(tiny_pipeline.landing, landing)
    changed = rewrite_future(landing, cutoff)
    assert all(changed.values()), changed
    result = run_pipeline(
        landing, root / "warehouse.duckdb", root / "serving.duckdb", days[0], days[-1]
    )
    assert result.success
    return Builds(
        cutoff=cutoff,
        original=tiny_pipeline.serving,
        altered=root / "serving.duckdb",
        altered_landing=landing,
        original_landing=tiny_pipeline.landing,
    )


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def _differing_rows(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Keys whose rows are not identical (or exist in only one frame)."""
    both = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    values = [c for c in a.columns if c not in keys]
    differ = both["_merge"] != "both"
    for c in values:
        x, y = both[f"{c}_a"], both[f"{c}_b"]
        differ |= ~((x == y) | (x.isna() & y.isna()))
    return both.loc[differ, keys]


def test_the_rewrite_changed_the_landing_files(builds):
    """The altered copy really differs on and after D, and only there."""
    for source in ("helpdesk", "telemetry", "crm"):
        for day in sorted((builds.original_landing / source).iterdir()):
            for f in sorted(day.iterdir()):
                copy = builds.altered_landing / source / day.name / f.name
                same = f.read_bytes() == copy.read_bytes()
                if pd.Timestamp(day.name) < builds.cutoff:
                    assert same, f"{source}/{day.name}/{f.name} changed before D"
                elif f.name != "contacts.csv":
                    assert not same, f"{source}/{day.name}/{f.name} unchanged on or after D"


def test_account_features_as_of_d_or_earlier_are_identical(builds):
    keys = ["account_id", "as_of_date"]
    cutoff = builds.cutoff
    original = _features(builds.original, "feat_account_daily")
    altered = _features(builds.altered, "feat_account_daily")
    before = [_sorted(f[f["as_of_date"] <= cutoff], keys) for f in (original, altered)]
    assert len(before[0]) > 0 and before[0]["as_of_date"].max() == cutoff
    pd.testing.assert_frame_equal(before[0], before[1], check_exact=True)


def test_account_features_after_d_change(builds):
    """Rows as of D+1 see day D's (altered) events and D's (altered) snapshot: they differ."""
    keys = ["account_id", "as_of_date"]
    cutoff = builds.cutoff
    original = _features(builds.original, "feat_account_daily")
    altered = _features(builds.altered, "feat_account_daily")
    differ = _differing_rows(original, altered, keys)
    assert (differ["as_of_date"] <= cutoff).sum() == 0
    next_day = builds.cutoff + pd.Timedelta(days=1)
    assert (differ["as_of_date"] == next_day).sum() > 0, "the day after D did not change"
    # Each family of inputs reaches the day after D: CRM, helpdesk and telemetry.
    a = original[original["as_of_date"] == next_day].set_index("account_id").sort_index()
    b = altered[altered["as_of_date"] == next_day].set_index("account_id").sort_index()
    for column in ("arr", "segment", "tickets_7d", "events_7d", "active_users_7d"):
        assert not a[column].equals(b[column]), f"{column} as of D+1 did not change"


def test_health_score_as_of_d_or_earlier_is_identical(builds):
    keys = ["account_id", "as_of_date"]
    cutoff = builds.cutoff
    frames = [_features(s, "health_score_daily") for s in (builds.original, builds.altered)]
    before = [_sorted(f[f["as_of_date"] <= cutoff], keys) for f in frames]
    assert len(before[0]) > 0
    pd.testing.assert_frame_equal(before[0], before[1], check_exact=True)


def _bot_exchange_after(landing: Path, cutoff: pd.Timestamp) -> set[int]:
    """Tickets whose bot exchange (the bot's first reply, the requester's answer to it
    before any agent) ended on or after D."""
    events = pd.DataFrame(
        [
            e
            for day in (landing / "helpdesk").iterdir()
            for e in _read_jsonl(day / "ticket_events.jsonl")
        ]
    )
    events["at"] = events["created_at"].map(_at)
    events = events.sort_values(["ticket_id", "at", "event_id"])
    straddling = set()
    for ticket_id, ticket in events.groupby("ticket_id"):
        bot = ticket[ticket["event_type"] == "bot_reply"]
        if bot.empty:
            continue
        first_bot = bot["at"].iloc[0]
        agent = ticket.loc[ticket["actor_type"] == "agent", "at"]
        until = agent.iloc[0] if len(agent) else pd.Timestamp.max
        answers = ticket[
            (ticket["event_type"] == "requester_reply")
            & (ticket["at"] > first_bot)
            & (ticket["at"] < until)
        ]
        end = answers["at"].iloc[0] if len(answers) else first_bot
        if end >= cutoff:
            straddling.add(int(ticket_id))
    return straddling


def test_ticket_features_created_before_d_are_identical(builds):
    keys = ["ticket_id"]
    original = _features(builds.original, "feat_ticket_at_creation")
    altered = _features(builds.altered, "feat_ticket_at_creation")
    before = [_sorted(f[f["created_at"] < builds.cutoff], keys) for f in (original, altered)]
    assert len(before[0]) > 0
    assert before[0]["ticket_id"].tolist() == before[1]["ticket_id"].tolist()
    # The bot's first exchange may legitimately come after D for a ticket created just
    # before it; those few tickets are compared on everything else.
    straddling = _bot_exchange_after(builds.original_landing, builds.cutoff)
    exchange_after_d = before[0]["ticket_id"].isin(straddling)
    for frame in before:
        frame.loc[exchange_after_d, BOT_EXCHANGE_COLUMNS] = None
    pd.testing.assert_frame_equal(before[0], before[1], check_exact=True)


def test_ticket_features_created_on_or_after_d_change(builds):
    original = _features(builds.original, "feat_ticket_at_creation")
    altered = _features(builds.altered, "feat_ticket_at_creation")
    differ = _differing_rows(original, altered, ["ticket_id"])
    created = original.set_index("ticket_id")["created_at"]
    changed = pd.to_datetime(differ["ticket_id"].map(created))
    assert len(differ) > 0
    assert (changed >= builds.cutoff).all()
    # Dropped tickets are gone; the others changed category, channel and text.
    assert len(altered) < len(original)
