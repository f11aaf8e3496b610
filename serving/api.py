"""`supportops serve`: score new tickets over HTTP with the escalation champion and the
triage policy chosen for it.

POST /score takes one ticket, POST /score/batch a list, in the helpdesk's ticket shape
(`extracts.contracts.HELPDESK_TICKETS`: the request model is built from the contract, so
a field the contract adds is accepted here too). Each answer carries the probability, the
policy's action and queue, the reasons and the model and policy versions.

Reads only the serving copy and the model registry. The champion is found through the
registry's status file (written atomically) on every request; when it names another
version, that version's model and policy (both complete before the pointer moved) are
loaded and then swapped in, so a promotion is served without a restart and never half
written. A newly published serving copy is opened the same way (by file identity).
PII fields of a request (email, name, phone) are dropped on arrival, never logged, and
never echoed in a validation error.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from extracts.contracts import HELPDESK_TICKETS
from ml import live, policy, reasons, registry
from ml.model import TrainedModel

log = logging.getLogger("supportops.serve")
TASK = "escalation"
MAX_BATCH = 1_000
_TYPES = {"BIGINT": int, "INTEGER": int, "TIMESTAMP": dt.datetime, "VARCHAR": str}
PII_FIELDS = frozenset(f.name for f in HELPDESK_TICKETS.fields if f.pii)


def _ticket_model() -> type[BaseModel]:
    """The request body of one ticket, field by field from the helpdesk contract: required
    fields required, allowed values as literals; unknown fields rejected."""
    fields: dict[str, Any] = {}
    for f in HELPDESK_TICKETS.fields:
        kind: Any = Literal[f.allowed] if f.allowed else _TYPES[f.type]
        fields[f.name] = (kind, ...) if f.required else (kind | None, None)
    return create_model(
        "Ticket", __config__=ConfigDict(extra="forbid", str_max_length=100_000), **fields
    )


Ticket = _ticket_model()


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tickets: list[Ticket] = Field(min_length=1, max_length=MAX_BATCH)  # type: ignore[valid-type]


@dataclass(frozen=True)
class Champion:
    """A loaded champion and the policy chosen for it: swapped in whole."""

    version: str
    model: TrainedModel
    policy: policy.Policy


class Scorer:
    """The champion and the serving copy, reloaded when the registry or the file changes."""

    def __init__(self, serving: Path, models: Path, template: Path) -> None:
        self.serving, self.models, self.template = Path(serving), Path(models), Path(template)
        self._champion: Champion | None = None
        self._lookups: live.Lookups | None = None
        self._serving_id: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def champion(self) -> Champion:
        """The registry's champion now: re-read from its status file, loaded on a change."""
        current = registry.champion(self.models, TASK)
        if current is None:
            raise LookupError("no escalation champion in the registry: train one first")
        loaded = self._champion
        if loaded is None or loaded.version != current.version:
            model = current.load().with_version(current.version)
            chosen = Champion(current.version, model, policy.policy_for(current, self.template))
            self._champion = loaded = chosen  # one reference swap: requests see old or new
            log.info("serving escalation %s with policy %s", chosen.version, chosen.policy.label)
        return loaded

    def lookups(self) -> live.Lookups:
        """What features read from the current serving copy, read once per copy."""
        if not self.serving.exists():
            raise LookupError(f"no serving copy at {self.serving}: run the pipeline first")
        stat = os.stat(self.serving)
        identity = (stat.st_ino, stat.st_mtime_ns)
        with self._lock:  # one thread reads a new copy; the others wait for it
            if self._lookups is None or identity != self._serving_id:
                with duckdb.connect() as con:
                    con.execute(f"ATTACH '{self.serving}' AS serving (READ_ONLY)")
                    try:
                        self._lookups = live.prepare(con)
                    except (duckdb.CatalogException, duckdb.BinderException) as exc:
                        # published before a table or column scoring reads
                        raise LookupError(
                            f"serving copy {self.serving} lacks what scoring reads ({exc}): "
                            "run the pipeline to publish a new one"
                        ) from exc
                self._serving_id = identity
            return self._lookups

    def score(self, tickets: list[BaseModel], explain: bool = True) -> dict[str, Any]:
        frame = pd.DataFrame(
            [t.model_dump(include=set(live.TICKET_COLUMNS)) for t in tickets],
            columns=list(live.TICKET_COLUMNS),
        )
        champion = self.champion()
        rows = live.ticket_features(self.lookups(), frame)
        why, probability = None, None
        if explain:  # the reasons' model pass gives the probability too
            why, probability = reasons.explain_and_predict(champion.model, rows)
        scored = policy.decision_inputs(champion.model, rows, probability)
        decided = policy.decide(champion.policy, scored)
        as_of = pd.to_datetime(scored["account_features_as_of"]).dt.strftime("%Y-%m-%d")
        columns = {
            "ticket_id": scored["ticket_id"].astype("int64").tolist(),
            "escalation_probability": scored["escalation_probability"].astype(float).tolist(),
            **{column: decided[column].tolist() for column in ("action", "queue", "rule")},
            "sla_state": scored["sla_state"].astype(str).tolist(),
            "reasons": [[] for _ in range(len(scored))],
            "account_features_as_of": as_of.astype(object).where(as_of.notna(), None).tolist(),
        }
        if why is not None:
            why = why.drop(columns="ticket_id")
            columns["reasons"] = [[r for r in row if r is not None] for row in why.to_numpy()]
        # Plain lists zipped into the reply: a DataFrame's to_dict costs more than the rows.
        per_ticket = zip(*columns.values(), strict=True)
        reply = [dict(zip(columns, values, strict=True)) for values in per_ticket]
        return {
            "model_version": champion.version,
            "policy_version": champion.policy.label,
            "results": reply,
        }


def _safe_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors with where and what, without the offending input (it may be PII)."""
    return [{"loc": list(e["loc"]), "field": str(e["loc"][-1]) if e["loc"] else "",
             "msg": e["msg"], "type": e["type"]} for e in errors]  # fmt: skip


def create_app(serving: Path, models: Path, template: Path) -> FastAPI:
    """The scoring service over one serving copy and one model registry."""
    scorer = Scorer(serving, models, template)
    app = FastAPI(title="supportops scoring", version="1")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _safe_errors(exc.errors())})

    @app.exception_handler(LookupError)
    async def _unavailable(_: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.get("/health")
    def health() -> dict[str, Any]:
        champion = scorer.champion()
        return {"model_version": champion.version, "policy_version": champion.policy.label}

    @app.post("/score")
    def score_one(ticket: Ticket, explain: bool = True) -> dict[str, Any]:  # type: ignore[valid-type]
        answer = scorer.score([ticket], explain=explain)
        return {**answer["results"][0], "model_version": answer["model_version"],
                "policy_version": answer["policy_version"]}  # fmt: skip

    @app.post("/score/batch")
    def score_batch(batch: Batch, explain: bool = True) -> dict[str, Any]:
        return scorer.score(batch.tickets, explain=explain)

    app.state.scorer = scorer
    return app


def app_from_settings() -> FastAPI:
    """The app for the settings in force (uvicorn's factory: `serving.api:app_from_settings`)."""
    from config.settings import get_settings

    settings = get_settings()
    return create_app(settings.serving, settings.warehouse.parent / "models",
                      settings.triage_policy)  # fmt: skip
