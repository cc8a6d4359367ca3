"""The credit ledger's use cases (docs/billing.md, "The credit ledger"): each runs in the
caller's transaction, moves credits through `adapters.ledger` and publishes its events.

Append-only `ledger` entries, each unique on (kind, reference), and the running totals in
`balances`. Every function first takes the tenant's `balances` row, then appends: a fact
seen twice is one entry, and the totals move only when an entry was written.

Jobs: `reserve` (render.job.queued), `settle` (render.job.completed), `release`
(render.job.failed / cancelled), all with the reference `job:<job id>`. A settle or release
whose reserve has not arrived yet writes the reserve first, so any order of delivery gives
the same totals; a job ends once (a settle after a release, or the other way round, is
ignored and logged).

Periods: `start_period` expires the unused credits of the earlier period grants (plans
with `rollover = false`) and grants the new period's credits; `grant_due_free_periods` is
the Free plan's sweep at `balances.next_grant_at`. Credits are spent from expiring grants
first: a grant's unused credits are what it gave minus what was settled since it was
made, never more than the available balance (`balance - reserved`, so what running jobs
hold stays theirs; render's projection clamps the same way).

`balance >= 0` holds for every entry but settlements (render reserves before it runs, so a
settlement never exceeds its reservation; `balance - reserved` may still end below zero
when a period's expiry left little). A settlement that leaves `balance - reserved <= 0`
publishes `billing.credits.exhausted`, once per run-out (its event id is derived from
the number of entries that added credits, so consumers' inboxes drop repeats)."""

from ...adapters.ledger import totals
from ...domain.ledger import InsufficientCredits, Totals, add_month, job_reference
from ._grants import adjust, expire, grant, grant_due_free_periods, start_period
from ._jobs import release, reserve, settle

__all__ = [
    "InsufficientCredits",
    "Totals",
    "add_month",
    "adjust",
    "expire",
    "grant",
    "grant_due_free_periods",
    "job_reference",
    "release",
    "reserve",
    "settle",
    "start_period",
    "totals",
]
