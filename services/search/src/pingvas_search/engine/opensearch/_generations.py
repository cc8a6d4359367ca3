"""Generations and their aliases: what `start` and a reindex ask of `_aliases`.

Every action names only indexes of this prefix (`Names.number` is not None); the read
alias always names exactly one generation, and the one searches read is never dropped.
"""

from __future__ import annotations

from typing import Any

from ._names import Names

#: {index: {alias, ...}} for every generation of a prefix
AliasState = dict[str, set[str]]


def alias_state(names: Names, resp: dict[str, Any]) -> AliasState:
    """`GET <prefix>-g*/_alias` as {generation: {alias, ...}} (other indexes left out)."""
    return {
        index: set((info or {}).get("aliases", {}))
        for index, info in resp.items()
        if names.number(index) is not None
    }


def next_generation(names: Names, state: AliasState) -> str:
    numbers = [n for n in (names.number(i) for i in state) if n is not None]
    return names.generation(max(numbers, default=0) + 1)


def create_generation_body(prefix: str, generation: str, *, read: bool) -> dict[str, Any]:
    """`PUT <generation>`: created with its aliases in one step (the template gives the
    settings and mappings); `read` for the first generation of a new prefix."""
    names = Names(prefix)
    aliases: dict[str, dict[str, Any]] = {
        names.write: {},
        names.write_alias(generation): {},
    }
    if read:
        aliases[names.read] = {}
    return {"aliases": aliases}


def begin_reindex_body(prefix: str, generation: str) -> dict[str, Any]:
    """A new generation that takes writes (from now on) but is not read yet."""
    return create_generation_body(prefix, generation, read=False)


def finish_reindex_actions(prefix: str, generation: str, state: AliasState) -> dict[str, Any]:
    """`POST _aliases`, atomically: the read alias moves to `generation`, which stays a
    write target, and every other generation that was read or written is dropped."""
    names = Names(prefix)
    actions: list[dict[str, Any]] = [
        {"add": {"index": generation, "alias": names.read}},
        {"add": {"index": generation, "alias": names.write}},
        {"add": {"index": generation, "alias": names.write_alias(generation)}},
    ]
    for index in sorted(state, key=lambda i: names.number(i) or 0):
        if index != generation and state[index] & {names.read, names.write}:
            actions.append({"remove_index": {"index": index}})
    return {"actions": actions}


def abort_reindex_actions(prefix: str, generation: str, state: AliasState) -> dict[str, Any]:
    """`POST _aliases`: drop the generation (its aliases go with it); refused for the
    generation searches read."""
    names = Names(prefix)
    names.write_alias(generation)  # one of ours
    if names.read in state.get(generation, set()):
        raise ValueError(f"{generation} is what searches read: it cannot be aborted")
    return {"actions": [{"remove_index": {"index": generation}}]}
