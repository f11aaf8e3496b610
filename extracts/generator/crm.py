"""CRM daily full snapshots: accounts, contacts and subscriptions as of the end of a day."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extracts.contracts import ACCOUNT_STATUSES, PLANS, SUBSCRIPTION_STATUSES
from extracts.generator.columns import format_dates, labels
from extracts.generator.config import stream
from extracts.generator.population import (
    CANCELLED,
    NON_RENEWAL,
    PRICE_PER_SEAT_MONTH,
    LatentChain,
    Population,
)

_UPGRADE = 0.0005  # daily, healthy accounts
_DOWNGRADE = 0.003  # daily, at-risk accounts


class Crm:
    """Subscription state (plan, seats, ARR) evolving with the latent chain."""

    def __init__(self, pop: Population, seed: int, start_epoch_day: int) -> None:
        self.pop = pop
        self.seed = seed
        self.start_epoch_day = start_epoch_day
        self.plan = pop.plan.copy()
        self.seats = pop.seats.copy()

    def step(self, day: int, chain: LatentChain) -> None:
        """Occasional upgrades (healthy) and downgrades (at risk); seat true-ups at renewal."""
        u = stream(self.seed, "plans", day).random((3, self.pop.n))
        alive = chain.alive
        up = alive & ~chain.at_risk & (u[0] < _UPGRADE) & (self.plan < len(PLANS) - 1)
        down = alive & chain.at_risk & (u[0] < _DOWNGRADE) & (self.plan > 0)
        self.plan += up.astype(np.int64) - down
        seats = self.seats.astype(float)
        seats = np.where(up, np.ceil(seats * (1.0 + 0.3 * u[1])), seats)
        seats = np.where(down, np.floor(seats * (1.0 - 0.3 * u[1])), seats)
        true_up = np.where(chain.at_risk, 0.85 + 0.15 * u[2], 0.95 + 0.3 * u[2])
        seats = np.where(chain.renewed_today, np.round(seats * true_up), seats)
        self.seats = np.maximum(1, seats).astype(np.int64)

    def accounts_table(self, chain: LatentChain) -> pa.Table:
        static = self.pop.accounts_static
        status = labels(ACCOUNT_STATUSES, (~chain.alive).astype(np.int64))
        return static.add_column(static.schema.get_field_index("billing_email"), "status", status)

    def contacts_table(self) -> pa.Table:
        return self.pop.contacts

    def subscriptions_table(self, chain: LatentChain) -> pa.Table:
        pop = self.pop
        arr = np.round(self.seats * PRICE_PER_SEAT_MONTH[self.plan] * 12 * pop.discount, 2)
        status = np.select([chain.reason == CANCELLED, chain.reason == NON_RENEWAL], [1, 2], 0)
        base = self.start_epoch_day
        cancelled_at = pc.if_else(
            pa.array(chain.reason == CANCELLED),
            format_dates(np.maximum(chain.churn_day, 0) + base),
            pa.scalar(None, pa.string()),
        )
        return pa.table(
            {
                "subscription_id": pop.subscription_id,
                "account_id": pop.account_id,
                "plan": labels(PLANS, self.plan),
                "seats": pa.array(self.seats, pa.int32()),
                "arr": pa.array(arr, pa.float64()),
                "start_date": format_dates(chain.term_start + base),
                "renewal_date": format_dates(chain.renewal + base),
                "status": labels(SUBSCRIPTION_STATUSES, status),
                "cancelled_at": cancelled_at,
                "auto_renew": pa.array(pop.auto_renew),
            }
        )
