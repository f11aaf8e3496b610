"""The synthetic extract generator: determinism, contract shapes, lifecycles, churn signal,
fault manifest and planted truth, checked on real generated files."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extracts.contracts import ENTITIES, ENTITIES_BY_TABLE, FAULT_KINDS, Entity, landing_path
from extracts.generator import SCALES, GenerationSummary, GeneratorConfig, generate
from extracts.generator.clock import HOUR, add_business, epoch_seconds
from extracts.generator.names import (
    COMPANY_NOUNS,
    COMPANY_PREFIXES,
    COMPANY_ROOTS,
    FIRST_NAMES,
    LAST_NAMES,
)
from extracts.lexicon import sentiment_score, tokenize

TINY = replace(SCALES["tiny"], seed=7)
TINY_FAULTY = replace(TINY, fault_rate=0.02)
# Long enough for churners to have four weeks of usage before churn and some before that.
CHURNY = GeneratorConfig(accounts=600, start=dt.date(2026, 5, 1), days=100, seed=11)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(TINY, tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(TINY_FAULTY, tmp_path_factory.mktemp("faulty"))


@pytest.fixture(scope="module")
def churny(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(CHURNY, tmp_path_factory.mktemp("churny"))


@pytest.fixture(scope="module")
def manifest(faulty: GenerationSummary) -> pd.DataFrame:
    return pd.read_parquet(faulty.out_dir / "truth" / "faults.parquet")


def _days(config: GeneratorConfig) -> list[str]:
    return [(config.start + dt.timedelta(days=d)).isoformat() for d in range(config.days)]


def _file(out: Path, entity: Entity, day: str) -> Path:
    return Path(landing_path(str(out / "landing"), entity, day))


def _read(out: Path, entity: Entity, typed: bool = True) -> pd.DataFrame:
    """Every day's file of an entity, as the contract types (or all text), with its `day`."""
    pattern = str(out / "landing" / entity.source / "*" / entity.file_name)
    types = ", ".join(f"'{f.name}': '{f.type if typed else 'VARCHAR'}'" for f in entity.fields)
    source = {
        "parquet": f"read_parquet('{pattern}', filename=true)",
        "jsonl": f"read_json('{pattern}', format='newline_delimited', columns={{{types}}}, "
        "filename=true)",
        "csv": f"read_csv('{pattern}', header=true, auto_detect=false, columns={{{types}}}, "
        "filename=true)",
    }[entity.format]
    frame = duckdb.sql(f"SELECT * FROM {source}").df()
    frame["day"] = frame.pop("filename").map(lambda f: dt.date.fromisoformat(Path(f).parent.name))
    return frame


def _digest(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _records(path: Path, entity: Entity) -> tuple[list[str], list[dict]]:
    """Column names and records of one file, text as written."""
    if entity.format == "jsonl":
        records = [json.loads(line) for line in path.read_text().splitlines()]
        return list(records[0]), records
    if entity.format == "csv":
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    frame = pd.read_parquet(path)
    return list(frame.columns), frame.to_dict("records")


# -- determinism ---------------------------------------------------------------------------


def test_same_config_gives_identical_bytes_and_rerun_replaces_output(
    faulty: GenerationSummary, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    stale = again / "landing" / "helpdesk" / "1999-01-01" / "tickets.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_text("left over from an earlier run\n")
    generate(TINY_FAULTY, again)
    assert not stale.exists()
    expected = _digest(faulty.out_dir)
    assert len(expected) == 6 * TINY.days + 4
    assert _digest(again) == expected


def test_another_seed_gives_different_data(faulty: GenerationSummary, tmp_path: Path) -> None:
    other = _digest(generate(replace(TINY_FAULTY, seed=8), tmp_path).out_dir)
    mine = _digest(faulty.out_dir)
    assert other.keys() == mine.keys()
    assert all(other[k] != mine[k] for k in mine)


def test_progress_is_reported_after_each_day(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    summary = generate(replace(TINY, accounts=10, days=3), tmp_path, lambda *a: calls.append(a))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert summary.days == 3 and summary.out_dir == tmp_path and summary.seconds > 0


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        replace(TINY, fault_kinds=("gremlins",))
    with pytest.raises(ValueError):
        replace(TINY, fault_rate=0.9)


# -- shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.table)
def test_every_file_has_exactly_the_contract_columns_and_types(
    clean: GenerationSummary, entity: Entity
) -> None:
    key = entity.key[0]
    for day in _days(TINY):
        columns, records = _records(_file(clean.out_dir, entity, day), entity)
        assert columns == [f.name for f in entity.fields], (entity.table, day)
        assert len({r[key] for r in records}) == len(records)
    frame = _read(clean.out_dir, entity)  # casting to the contract types must not fail
    assert len(frame) == clean.rows[entity.table]
    if entity.format == "parquet":
        schema = pq.read_schema(_file(clean.out_dir, entity, _days(TINY)[0]))
        expected = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us", tz="UTC")}
        assert {f.name: schema.field(f.name).type for f in entity.fields} == {
            f.name: expected[f.type] for f in entity.fields
        }


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.table)
def test_clean_data_respects_required_allowed_and_ranges(
    clean: GenerationSummary, entity: Entity
) -> None:
    frame = _read(clean.out_dir, entity)
    for f in entity.fields:
        values = frame[f.name].dropna()
        if f.required:
            assert frame[f.name].notna().all(), f.name
        if f.allowed:
            assert set(values) <= set(f.allowed), f.name
        if f.min_value is not None:
            assert (values >= f.min_value).all(), f.name
        if f.max_value is not None:
            assert (values <= f.max_value).all(), f.name


def test_events_belong_to_tickets_and_follow_a_lifecycle(clean: GenerationSummary) -> None:
    tickets = _read(clean.out_dir, ENTITIES_BY_TABLE["helpdesk_tickets"])
    events = _read(clean.out_dir, ENTITIES_BY_TABLE["helpdesk_ticket_events"])
    assert set(events["ticket_id"]) <= set(tickets["ticket_id"])
    assert events["event_id"].is_unique
    ordered = events.sort_values(["created_at", "event_id"])
    assert ordered["event_id"].is_monotonic_increasing
    first = ordered.groupby("ticket_id").first()
    assert (first["event_type"] == "created").all()
    created = tickets.set_index("ticket_id")["created_at"]
    assert (first["created_at"] == created[first.index]).all()
    assert not ordered.duplicated(["ticket_id", "created_at"]).any()

    kind = events["event_type"]
    replies = events[kind == "agent_reply"]
    assert (replies["actor_type"] == "agent").all() and (replies["handle_seconds"] > 0).all()
    assert replies["actor_id"].str.fullmatch(r"AG\d{3,}").all()
    assert set(events.loc[kind == "escalated", "to_tier"]) <= {2, 3}
    assert events.loc[kind == "requester_reply", "body"].notna().all()
    assert events.loc[kind == "csat_response", "csat_score"].between(1, 5).all()
    assert set(kind) == set(ENTITIES_BY_TABLE["helpdesk_ticket_events"].field("event_type").allowed)
    # Bot-first tickets talk to the bot before anyone else; a hand-off precedes any agent.
    for _, life in ordered.groupby("ticket_id"):
        types = list(life["event_type"])
        if "bot_reply" in types and "agent_reply" in types:
            assert types.index("bot_handoff" if "bot_handoff" in types else "reopened") < (
                types.index("agent_reply")
            )
        if "closed" in types:
            assert types[-1] == "closed" and types.count("closed") == 1


def test_events_are_written_on_the_day_they_happen(clean: GenerationSummary) -> None:
    entity = ENTITIES_BY_TABLE["helpdesk_ticket_events"]
    for day in _days(TINY):
        _, records = _records(_file(clean.out_dir, entity, day), entity)
        assert {r["created_at"][:10] for r in records} <= {day}
        assert all(r["created_at"].endswith("Z") for r in records)


def test_requesters_are_crm_contacts(clean: GenerationSummary) -> None:
    tickets = _read(clean.out_dir, ENTITIES_BY_TABLE["helpdesk_tickets"])
    contacts = _read(clean.out_dir, ENTITIES_BY_TABLE["crm_contacts"]).drop(columns="day")
    contacts = contacts.drop_duplicates()
    joined = tickets.merge(contacts, left_on="requester_id", right_on="contact_id")
    assert len(joined) == len(tickets)
    assert (joined["account_id_x"] == joined["account_id_y"]).all()
    assert (joined["requester_email"] == joined["email"]).all()
    assert (joined["requester_name"] == joined["first_name"] + " " + joined["last_name"]).all()
    phones = joined["requester_phone"].fillna("") == joined["phone"].fillna("")
    assert phones.all()
    assert joined["requester_email"].str.fullmatch(r"[a-z]+\.[a-z]+\d*@[a-z0-9-]+\.example").all()
    assert joined["phone"].dropna().str.fullmatch(r"\+\d{1,2}-555-\d{3}-\d{4}").all()


def test_crm_snapshots_follow_churn(clean: GenerationSummary) -> None:
    accounts = _read(clean.out_dir, ENTITIES_BY_TABLE["crm_accounts"])
    subscriptions = _read(clean.out_dir, ENTITIES_BY_TABLE["crm_subscriptions"])
    assert (accounts.groupby("account_id").size() == TINY.days).all()
    assert accounts["owner"].str.fullmatch(r"csm-\d{2,}").all()
    assert 0.05 < (accounts["tier"] == "vip").mean() < 0.2
    truth = pd.read_parquet(clean.out_dir / "truth" / "accounts.parquet")
    churn = accounts["account_id"].map(truth.set_index("account_id")["churn_date"])
    assert churn.notna().any()
    assert (accounts["status"] == "churned").eq(churn <= accounts["day"]).all()
    both = subscriptions.merge(accounts, on=["account_id", "day"], suffixes=("", "_account"))
    assert (both["status"] != "active").eq(both["status_account"] == "churned").all()
    cancelled = both[both["status"] == "cancelled"]
    assert (
        cancelled["cancelled_at"].dt.date
        == cancelled["account_id"].map(truth.set_index("account_id")["churn_date"])
    ).all()
    assert both.loc[both["status"] != "cancelled", "cancelled_at"].isna().all()
    assert (both["renewal_date"] > both["start_date"]).all()
    words = {w.lower() for names in (*FIRST_NAMES.values(), *LAST_NAMES.values()) for w in names}
    company = {w.lower() for w in (*COMPANY_PREFIXES, *COMPANY_ROOTS, *COMPANY_NOUNS)}
    assert not words & company
    assert not {t for n in accounts["account_name"] for t in tokenize(n)} & words


def test_business_time_skips_nights_and_weekends() -> None:
    friday_5pm = epoch_seconds(dt.date(2026, 5, 1)) + 17 * HOUR
    saturday_noon = friday_5pm + 19 * HOUR
    t = np.array([friday_5pm, friday_5pm, saturday_noon])
    got = add_business(t, np.array([2 * HOUR] * 3), np.array([True, False, True]))
    monday = epoch_seconds(dt.date(2026, 5, 4))
    assert list(got) == [monday + 9 * HOUR, friday_5pm + 2 * HOUR, monday + 10 * HOUR]


# -- text ----------------------------------------------------------------------------------


def test_description_sentiment_tracks_frustration(clean: GenerationSummary) -> None:
    tickets = _read(clean.out_dir, ENTITIES_BY_TABLE["helpdesk_tickets"])
    score = tickets["description"].map(sentiment_score)
    urgent = tickets["priority"] == "urgent"
    assert score.min() < 0 < score.max()
    assert score[urgent].mean() < score[tickets["priority"] == "low"].mean()


# -- churn and truth -----------------------------------------------------------------------


def test_usage_declines_in_the_weeks_before_churn(churny: GenerationSummary) -> None:
    out = churny.out_dir
    usage = duckdb.sql(
        f"""
        WITH churners AS (
            SELECT account_id, churn_date FROM read_parquet('{out}/truth/accounts.parquet')
            WHERE churn_date >= DATE '{CHURNY.start}' + 35
        ), days AS (
            SELECT CAST(unnest(generate_series(DATE '{CHURNY.start}',
                DATE '{CHURNY.start}' + {CHURNY.days - 1}, INTERVAL 1 DAY)) AS DATE) AS d
        ), daily AS (
            SELECT account_id, CAST(timestamp AS DATE) AS d, count(*) AS n
            FROM read_parquet('{out}/landing/telemetry/*/events.parquet') GROUP BY ALL
        )
        SELECT c.account_id,
               avg(coalesce(n, 0)) FILTER (WHERE days.d >= c.churn_date - 28) AS recent,
               avg(coalesce(n, 0)) FILTER (WHERE days.d < c.churn_date - 28) AS earlier
        FROM churners c JOIN days ON days.d < c.churn_date
        LEFT JOIN daily ON daily.account_id = c.account_id AND daily.d = days.d
        GROUP BY c.account_id
        """
    ).df()
    assert len(usage) >= 15
    assert usage["recent"].mean() < 0.9 * usage["earlier"].mean()


def test_truth_probabilities_and_labels(clean: GenerationSummary) -> None:
    truth = clean.out_dir / "truth"
    daily = pd.read_parquet(truth / "account_daily.parquet")
    accounts = pd.read_parquet(truth / "accounts.parquet")
    assert daily["churn_probability_90d"].between(0, 1).all()
    assert daily["churned_within_90d"].isna().all()  # 14 days: every window runs past the end
    assert (daily.groupby("date").size().iloc[0]) == TINY.accounts
    churn = pd.to_datetime(daily["account_id"].map(accounts.set_index("account_id")["churn_date"]))
    assert not (pd.to_datetime(daily["date"]) > churn).any(), "rows after the churn date"
    assert set(accounts["reason"].dropna()) <= {"cancelled", "non_renewal"}
    assert accounts["reason"].notna().eq(accounts["churn_date"].notna()).all()

    tickets = pd.read_parquet(truth / "tickets.parquet")
    landed = _read(clean.out_dir, ENTITIES_BY_TABLE["helpdesk_tickets"])
    assert sorted(tickets["ticket_id"]) == sorted(landed["ticket_id"])
    assert tickets["escalation_probability"].between(0, 1).all()
    events = _read(clean.out_dir, ENTITIES_BY_TABLE["helpdesk_ticket_events"])
    tier3 = set(events.loc[events["to_tier"] == 3, "ticket_id"])
    finished = set(events.loc[events["event_type"] == "closed", "ticket_id"])
    label = tickets.set_index("ticket_id")["escalated_tier3"]
    assert tier3 <= set(label[label].index)
    assert {t for t in finished if label[t]} == tier3 & finished


def test_churn_labels_match_churn_dates(churny: GenerationSummary) -> None:
    config, out = CHURNY, churny.out_dir
    daily = pd.read_parquet(out / "truth" / "account_daily.parquet")
    churn = pd.read_parquet(out / "truth" / "accounts.parquet").set_index("account_id")
    date = pd.to_datetime(daily["date"])
    churn_date = pd.to_datetime(daily["account_id"].map(churn["churn_date"]))
    window = (churn_date >= date) & (churn_date < date + pd.Timedelta(days=90))
    known = date + pd.Timedelta(days=90) <= pd.Timestamp(config.start + dt.timedelta(config.days))
    assert daily["churned_within_90d"].isna().eq(~known).all()
    assert (daily.loc[known, "churned_within_90d"].astype(bool) == window[known]).all()
    labelled = daily[known]
    churners = labelled["churned_within_90d"].astype(bool)
    assert churners.any()
    risk = labelled["churn_probability_90d"]
    assert risk[churners].mean() > 2 * risk[~churners].mean()
    assert (labelled.groupby("at_risk")["churn_probability_90d"].mean().diff().dropna() > 0).all()


# -- faults --------------------------------------------------------------------------------


def test_every_requested_kind_occurs_and_is_counted(
    faulty: GenerationSummary, manifest: pd.DataFrame
) -> None:
    assert set(manifest["kind"]) == set(FAULT_KINDS)
    assert faulty.faults == manifest["kind"].value_counts().to_dict()
    renamed = manifest[manifest["kind"] == "renamed_column"]
    assert renamed["file"].nunique() == 1
    assert not manifest.duplicated(["file", "line"]).any()
    assert set(manifest.loc[manifest["kind"] == "late_arrival", "table"]) <= {
        "helpdesk_ticket_events",
        "telemetry_events",
    }


def test_clean_runs_have_no_faults(clean: GenerationSummary) -> None:
    assert not pd.read_parquet(clean.out_dir / "truth" / "faults.parquet").shape[0]
    assert set(clean.faults.values()) == {0}


def test_fault_kinds_can_be_restricted(tmp_path: Path) -> None:
    config = replace(TINY_FAULTY, accounts=40, days=6, fault_kinds=("duplicate", "late_arrival"))
    summary = generate(config, tmp_path)
    kinds = set(pd.read_parquet(tmp_path / "truth" / "faults.parquet")["kind"])
    assert kinds == {"duplicate", "late_arrival"} == set(summary.faults)


def _is_timestamp(text: str) -> bool:
    for parse in (dt.datetime.fromisoformat, dt.date.fromisoformat):
        try:
            parse(text)
        except ValueError:
            continue
        return True
    return False


def test_manifest_rows_point_at_lines_that_show_the_fault(
    faulty: GenerationSummary, manifest: pd.DataFrame
) -> None:
    files: dict[str, tuple[list[str], list[dict], list[str]]] = {}
    for file, rows in manifest.groupby("file"):
        entity = ENTITIES_BY_TABLE[rows["table"].iloc[0]]
        path = faulty.out_dir / file
        columns, records = _records(path, entity)
        lines = path.read_text().splitlines() if entity.format != "parquet" else []
        files[file] = columns, records, lines
        offset = 2 if entity.format == "csv" else 1
        key = entity.key[0]
        for row in rows.itertuples():
            assert row.day.isoformat() in file
            record = records[row.line - offset]
            assert str(record[key]) == row.key, (file, row.line)
            if row.kind == "renamed_column":
                original, new = row.detail.split(" -> ")
                assert original == row.field and original not in columns and new in columns
            elif row.kind == "null_required":
                value = record[row.field]
                assert entity.field(row.field).required and (pd.isna(value) or value == "")
            elif row.kind == "bad_timestamp":
                assert entity.field(row.field).is_timestamp and not _is_timestamp(record[row.field])
            elif row.kind == "unknown_enum":
                assert record[row.field] not in entity.field(row.field).allowed
            elif row.kind == "duplicate":
                original = int(re.fullmatch(r"copy of line (\d+)", row.detail)[1])
                assert original < row.line and row.field is None
                if lines:
                    assert lines[original - 1] == lines[row.line - 1]
                else:
                    assert records[original - offset] == record
            elif row.kind == "late_arrival":
                stamp = pd.Timestamp(record[row.field])
                lag = (row.day - stamp.date()).days
                assert 1 <= lag <= 3, (file, row.line)
    # Late rows are missing from their own day's file and present exactly once overall.
    late = manifest[manifest["kind"] == "late_arrival"]
    for table, rows in late.groupby("table"):
        entity = ENTITIES_BY_TABLE[table]
        every = _read(faulty.out_dir, entity, typed=False)
        counts = every[entity.key[0]].astype(str).value_counts()
        assert (counts[rows["key"]] == 1).all()
