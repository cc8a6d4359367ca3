"""What a user typed, as an FTS5 expression of the engine's own operators only.

Every term is double-quoted (`quote`), so what was typed is never FTS5 syntax; the
tenant's token (`tenant_token`) is put in front of every MATCH by the engine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..plan import MAX_GROUPS as MAX_QUERY_TERMS
from ..plan import MAX_QUERY_CHARS, Alternative, QueryPlan, Unit
from ..plan import plan_query as shared_plan

__all__ = ["MAX_QUERY_CHARS", "MAX_QUERY_TERMS", "Plan", "plan_query", "quote", "tenant_token"]


def tenant_token(tenant_id: str) -> str:
    """The tenant's token in the FTS rows: hex, so no tokenizer splits it and no prompt
    word equals it by accident (and one would only ever be looked for in `tenant`)."""
    return "t" + hashlib.blake2b(tenant_id.encode(), digest_size=12).hexdigest()


def quote(term: str) -> str:
    """An FTS5 string: whatever `term` holds, it is one string, never syntax."""
    return '"' + term.replace('"', '""') + '"'


@dataclass(frozen=True)
class Plan:
    """A query's FTS5 expression (without the tenant) and what highlighting marks."""

    expression: str
    terms: frozenset[str]
    substrings: tuple[str, ...]  # Hangul words that may match inside a prompt's words
    raw: frozenset[str]  # words looked for as typed (stop-word-only queries)


def _unit(unit: Unit) -> str:
    clause = f"terms : {quote(unit.term)}"
    for grams in unit.grams:
        clause += f" OR bigrams : ({' AND '.join(map(quote, grams))})"
    return f"({clause})" if unit.grams else clause


def _alternative(alternative: Alternative) -> str:
    clauses = [_unit(u) for u in alternative.units]
    return clauses[0] if len(clauses) == 1 else f"({' AND '.join(clauses)})"


def expression(plan: QueryPlan) -> str:
    """The FTS5 expression of a shared query plan (`engine/plan.py`): every group (AND),
    any of its alternatives (OR), all of an alternative's units (AND), each by its term
    or through its grams in the `bigrams` column (OR)."""
    if not plan.groups:
        return " AND ".join(f"raw : {quote(w)}" for w in plan.raw)
    clauses = []
    for group in plan.groups:
        alternatives = [_alternative(a) for a in group.alternatives]
        clauses.append(
            alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"
        )
    return " AND ".join(clauses)


def plan_query(text: str) -> Plan | None:
    """The FTS5 plan for what a user typed; None when it has no word at all."""
    plan = shared_plan(text)
    if plan is None:
        return None
    return Plan(expression(plan), plan.terms, plan.substrings, frozenset(plan.raw))
