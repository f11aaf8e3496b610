"""Expectation suites, defined in code and versioned with it.

A suite is declared here as plain data (`SuiteDef`: table, key, columns with their DuckDB
types, and `Expect` specs), so that listing suites and their checks costs no Great
Expectations import (about 10-20 s); `to_gx_suite` turns a definition into a Great
Expectations 1.x `ExpectationSuite` when a validation actually runs.

- Raw suites are derived from `extracts.contracts` (fields, required, allowed values,
  min/max, key) and `extracts.ingest.raw_columns` (the columns `raw.<table>` stores).
- Mart and feature suites are derived from the dbt models' yml contracts (column names,
  data types, `not_null` / `unique` / `accepted_values` tests), plus the ranges and
  numerator <= denominator rules listed beside them here.

Every expectation carries `meta={"severity": "critical" | "warning"}`: critical ones block
downstream assets, warnings are reported only.

Only row-wise expectations, column-set and (compound) uniqueness are used: those stay
exact when a table is validated in several batches (see `quality.gx_engine`), because rows
are split into batches by a hash of the suite's key.

A suite is named after the table it validates; the names are spelled only here (the
constants below, `raw_suite_name`), so that code elsewhere refers to suites, not strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from extracts.contracts import (
    CATEGORY_VALUES,
    CHANNEL_VALUES,
    ENTITIES,
    HELPDESK_TICKET_EVENTS,
    HELPDESK_TICKETS,
    PLANS,
    PRIORITIES,
    REGIONS,
    SEGMENTS,
    SUBSCRIPTION_STATUSES,
    TELEMETRY_EVENTS_ENTITY,
    TIERS,
    Entity,
)
from extracts.ingest import RAW_SCHEMA, raw_columns

if TYPE_CHECKING:
    import great_expectations as gx

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"

DBT_MODELS = Path(__file__).resolve().parent.parent / "dbt_project" / "models"


def raw_suite_name(entity: Entity) -> str:
    """The suite of an extract's raw table (named, like every suite, after its table)."""
    return f"{RAW_SCHEMA}.{entity.table}"


RAW_TICKETS = raw_suite_name(HELPDESK_TICKETS)
RAW_TICKET_EVENTS = raw_suite_name(HELPDESK_TICKET_EVENTS)
RAW_TELEMETRY_EVENTS = raw_suite_name(TELEMETRY_EVENTS_ENTITY)
FCT_TICKETS = "marts.fct_tickets"
FCT_SUPPORT_KPIS_DAILY = "marts.fct_support_kpis_daily"
FEAT_ACCOUNT_DAILY = "features.feat_account_daily"
MART_SUITES = (FCT_TICKETS, FCT_SUPPORT_KPIS_DAILY, FEAT_ACCOUNT_DAILY)
"""The marts and features Python reads, validated after every warehouse build."""

# Expectation types that remain exact when a table is validated batch by batch.
ROW_WISE = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_pair_values_a_to_be_greater_than_b",
}
KEYED = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
TABLE_LEVEL = {"expect_table_columns_to_match_set"}
SUPPORTED = ROW_WISE | KEYED | TABLE_LEVEL


@dataclass(frozen=True)
class Expect:
    """One expectation: a Great Expectations type (snake case), its kwargs and severity."""

    type: str
    kwargs: dict[str, Any]
    severity: Severity = CRITICAL

    def __post_init__(self) -> None:
        if self.type not in SUPPORTED:
            raise ValueError(f"{self.type} is not batch-safe; supported: {sorted(SUPPORTED)}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the expectation reads; empty for a table-level one (it reads them all)."""
        if "column" in self.kwargs:
            return (self.kwargs["column"],)
        if "column_list" in self.kwargs:
            return tuple(self.kwargs["column_list"])
        if "column_A" in self.kwargs:
            return (self.kwargs["column_A"], self.kwargs["column_B"])
        return ()

    @property
    def column(self) -> str | None:
        """The columns as one comma-separated name (labels, outcomes); None if table-level."""
        return ",".join(self.columns) or None

    @property
    def label(self) -> str:
        """Stable, human-readable id: `<type>(<column>)`, plus the bounds of a range."""
        label = f"{self.type}({self.column or ''})"
        if self.type == "expect_column_values_to_be_between":
            lo, hi = self.kwargs.get("min_value"), self.kwargs.get("max_value")
            label += f"[{'' if lo is None else lo}..{'' if hi is None else hi}]"
        return label


@dataclass(frozen=True)
class SuiteDef:
    """A suite and the table it validates."""

    name: str
    table: str
    """Fully qualified DuckDB table, `schema.table`."""
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    """(name, DuckDB type) the table must have, in order."""
    expectations: tuple[Expect, ...]
    event_time: str | None = None
    """Column placing a row in time (freshness, windows)."""
    partition_column: str | None = None
    """Date column a daily partition window filters on."""
    loaded_at: str | None = None

    def expectation(self, label: str) -> Expect:
        return next(e for e in self.expectations if e.label == label)

    @property
    def is_raw(self) -> bool:
        """A raw table's suite: judged per landing day, with quarantine and late rows."""
        return self.name.startswith(f"{RAW_SCHEMA}.")


def _not_null(column: str, severity: Severity = CRITICAL) -> Expect:
    return Expect("expect_column_values_to_not_be_null", {"column": column}, severity)


def _between(
    column: str,
    min_value: float | None = None,
    max_value: float | None = None,
    severity: Severity = CRITICAL,
) -> Expect:
    kwargs: dict[str, Any] = {"column": column}
    if min_value is not None:
        kwargs["min_value"] = min_value
    if max_value is not None:
        kwargs["max_value"] = max_value
    return Expect("expect_column_values_to_be_between", kwargs, severity)


def _in_set(column: str, values: tuple[str, ...], severity: Severity = CRITICAL) -> Expect:
    return Expect(
        "expect_column_values_to_be_in_set", {"column": column, "value_set": list(values)}, severity
    )


def _unique(key: tuple[str, ...], severity: Severity = CRITICAL) -> Expect:
    if len(key) == 1:
        return Expect("expect_column_values_to_be_unique", {"column": key[0]}, severity)
    return Expect("expect_compound_columns_to_be_unique", {"column_list": list(key)}, severity)


def _at_most(numerator: str, denominator: str, severity: Severity = CRITICAL) -> Expect:
    """numerator <= denominator, i.e. the rate numerator / denominator lies within 0-1."""
    return Expect(
        "expect_column_pair_values_a_to_be_greater_than_b",
        {
            "column_A": denominator,
            "column_B": numerator,
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        severity,
    )


def _columns(columns: list[tuple[str, str]]) -> Expect:
    return Expect(
        "expect_table_columns_to_match_set",
        {"column_set": [c for c, _ in columns], "exact_match": True},
        CRITICAL,
    )


# ---------------------------------------------------------------------------- raw suites


def raw_key(entity: Entity) -> tuple[str, ...]:
    """Event entities are unique on their key; daily CRM snapshots on key + landing day."""
    return entity.key if entity.event_time else (*entity.key, "_landing_date")


def raw_suite(entity: Entity) -> SuiteDef:
    """The suite of `raw.<table>`, derived from the entity's contract."""
    columns = raw_columns(entity)
    stored = {name for name, _ in columns}
    exps: list[Expect] = [_columns(columns)]
    for f in entity.fields:
        if f.name not in stored:  # PII hashed / text reduced: checked through derived columns
            if f.pii and f.required:
                exps.append(_not_null(f"{f.name}_hash"))
            continue
        if f.required:
            exps.append(_not_null(f.name))
        if f.allowed:
            exps.append(_in_set(f.name, f.allowed))
        if f.min_value is not None or f.max_value is not None:
            exps.append(_between(f.name, f.min_value, f.max_value))
    for name, _ in columns:
        if name.endswith("_sentiment"):
            exps.append(_between(name, -1, 1, WARNING))
        elif name.endswith("_chars"):
            exps.append(_between(name, 0, None, WARNING))
    exps += [_not_null(c) for c in ("_landing_date", "_source_file", "_loaded_at")]
    exps.append(_unique(raw_key(entity)))
    return SuiteDef(
        name=raw_suite_name(entity),
        table=f"{RAW_SCHEMA}.{entity.table}",
        key=raw_key(entity),
        columns=tuple(columns),
        expectations=tuple(exps),
        event_time=entity.event_time,
        partition_column="_landing_date",
        loaded_at="_loaded_at",
    )


# ------------------------------------------------------------------- dbt model suites


_DUCKDB_TYPE_NAMES = {"STRING": "VARCHAR"}


@cache
def dbt_contract(yml: str, model: str) -> dict[str, dict[str, Any]]:
    """Columns of a dbt model's yml: name -> {"type", "not_null", "unique", "accepted"}."""
    doc = yaml.safe_load((DBT_MODELS / yml).read_text())
    spec = next(m for m in doc["models"] if m["name"] == model)
    out: dict[str, dict[str, Any]] = {}
    for col in spec["columns"]:
        info: dict[str, Any] = {
            # The yml says `string` (a type both DuckDB and Spark parse); DuckDB calls it VARCHAR.
            "type": _DUCKDB_TYPE_NAMES.get(col["data_type"].upper(), col["data_type"].upper()),
            "not_null": False,
            "unique": False,
        }
        for test in col.get("data_tests", []) or []:
            if test == "not_null":
                info["not_null"] = True
            elif test == "unique":
                info["unique"] = True
            elif isinstance(test, dict) and "accepted_values" in test:
                body = test["accepted_values"]
                info["accepted"] = tuple((body.get("arguments") or body)["values"])
        out[col["name"]] = info
    return out


def _model_suite(
    name: str,
    yml: str,
    model: str,
    key: tuple[str, ...],
    extra: list[Expect],
    *,
    event_time: str | None = None,
    partition_column: str | None = None,
) -> SuiteDef:
    contract = dbt_contract(yml, model)
    columns = [(c, info["type"]) for c, info in contract.items()]
    exps: list[Expect] = [_columns(columns)]
    exps += [_not_null(c) for c, info in contract.items() if info["not_null"]]
    exps += [_in_set(c, info["accepted"]) for c, info in contract.items() if "accepted" in info]
    exps += extra
    exps.append(_unique(key))
    exps = list({e.label: e for e in reversed(exps)}.values())[::-1]  # first one wins
    return SuiteDef(
        name=name,
        table=name,
        key=key,
        columns=tuple(columns),
        expectations=tuple(exps),
        event_time=event_time,
        partition_column=partition_column,
    )


def _non_negative(columns: list[str], severity: Severity = CRITICAL) -> list[Expect]:
    return [_between(c, 0, None, severity) for c in columns]


def fct_tickets_suite() -> SuiteDef:
    contract = dbt_contract("marts/fct_tickets.yml", "fct_tickets")
    durations = [c for c in contract if c.endswith("_minutes") or c == "handle_seconds"]
    counts = [
        c
        for c, info in contract.items()
        if info["type"] == "INTEGER"
        and c not in ("csat_score", "max_support_tier", "days_resolution_to_next_ticket")
        # days_resolution_to_next_ticket is negative when the next ticket came before the solve
    ]
    extra = [
        _in_set("channel", CHANNEL_VALUES),
        _in_set("category", CATEGORY_VALUES),
        _in_set("priority", PRIORITIES),
        _in_set("tier", TIERS),
        _between("csat_score", 1, 5),
        _between("max_support_tier", 1, 3),
        *_non_negative(sorted(set(durations) | set(counts))),
        *[_between(c, -1, 1, WARNING) for c in contract if c.endswith("_sentiment")],
        # A day of agent time on one ticket is not impossible, but worth a look.
        _between("handle_seconds", None, 86_400, WARNING),
    ]
    return _model_suite(
        FCT_TICKETS,
        "marts/fct_tickets.yml",
        "fct_tickets",
        ("ticket_id",),
        extra,
        event_time="created_at",
        partition_column="created_date",
    )


def fct_support_kpis_daily_suite() -> SuiteDef:
    contract = dbt_contract("marts/fct_support_kpis_daily.yml", "fct_support_kpis_daily")
    dims = ("kpi_date", "channel", "category", "tier", "segment", "handling_path")
    measures = [c for c in contract if c not in dims]
    pairs = [
        ("contained_tickets", "bot_handled_tickets"),
        ("bot_handled_tickets", "tickets"),
        ("agent_touched_tickets", "tickets"),
        ("escalated_tickets", "tickets"),
        ("escalated_to_tier3_tickets", "escalated_tickets"),
        ("reopened_tickets", "tickets"),
        ("fcr_tickets", "fcr_eligible_tickets"),
        ("csat_satisfied_responses", "csat_responses"),
        ("sla_first_response_breached", "sla_first_response_applicable"),
        ("sla_resolution_breached", "sla_resolution_applicable"),
        ("sla_all_met_tickets", "sla_tickets"),
        ("sla_tickets", "tickets"),
        ("negative_sentiment_tickets", "tickets"),
    ]
    extra = [
        *[_not_null(c) for c in dims],
        _in_set("channel", CHANNEL_VALUES),
        _in_set("category", CATEGORY_VALUES),
        _in_set("tier", TIERS),
        *_non_negative(measures),
        *[_at_most(n, d) for n, d in pairs],
    ]
    return _model_suite(
        FCT_SUPPORT_KPIS_DAILY,
        "marts/fct_support_kpis_daily.yml",
        "fct_support_kpis_daily",
        dims,
        extra,
        partition_column="kpi_date",
    )


def feat_account_daily_suite() -> SuiteDef:
    contract = dbt_contract("features/feat_account_daily.yml", "feat_account_daily")
    counts = [
        c
        for c, info in contract.items()
        if info["type"] == "INTEGER" and c not in ("days_to_renewal",)
    ]
    extra = [
        *_non_negative(counts),
        _between("negative_sentiment_share_30d", 0, 1),
        _between("csat_avg_30d", 1, 5),
        _between("csat_avg_prior_30d", 1, 5),
        _between("csat_trend_30d", -4, 4),
        _between("usage_change_7d_vs_prior_28d", -1, None),
        _between("arr", 0, None),
        _between("seat_utilization", 0, None),
        # More users than seats happens (shared logins, seat changes): show, do not block.
        _between("seat_utilization", None, 2, WARNING),
        _in_set("tier", TIERS),
        _in_set("segment", SEGMENTS),
        _in_set("region", REGIONS),
        _in_set("plan", PLANS),
        _in_set("subscription_status", SUBSCRIPTION_STATUSES),
        _at_most("tickets_7d", "tickets_14d"),
        _at_most("tickets_14d", "tickets_30d"),
        _at_most("active_users_7d", "active_users_28d"),
        _at_most("negative_tickets_30d", "tickets_30d"),
        _at_most("csat_satisfied_30d", "csat_responses_30d"),
    ]
    return _model_suite(
        FEAT_ACCOUNT_DAILY,
        "features/feat_account_daily.yml",
        "feat_account_daily",
        ("account_id", "as_of_date"),
        extra,
        partition_column="as_of_date",
    )


@cache
def suites() -> dict[str, SuiteDef]:
    """Every suite by name (the name is the table it validates)."""
    defs = [raw_suite(e) for e in ENTITIES]
    defs += [fct_tickets_suite(), fct_support_kpis_daily_suite(), feat_account_daily_suite()]
    return {d.name: d for d in defs}


def get_suite(name: str) -> SuiteDef:
    try:
        return suites()[name]
    except KeyError:
        raise KeyError(f"unknown suite {name!r}; known: {sorted(suites())}") from None


def to_gx_suite(
    definition: SuiteDef, subset: tuple[Expect, ...] | None = None, name: str | None = None
) -> gx.ExpectationSuite:
    """The Great Expectations suite of a definition, or of some of its expectations under
    another name (imports GE: call it lazily)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    expectations = [
        ExpectationConfiguration(
            type=e.type, kwargs=dict(e.kwargs), meta={"severity": e.severity, "label": e.label}
        ).to_domain_obj()
        for e in (definition.expectations if subset is None else subset)
    ]
    return gx.ExpectationSuite(name=name or definition.name, expectations=expectations)
