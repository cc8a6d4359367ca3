"""`OpenSearchEngine`: sends what the pure modules build, reads the answers.

Cluster trouble (timeouts, refused connections, 429 and 5xx, a missing alias) becomes
`EngineUnavailable` with a short reason that never holds the URL (it may carry
credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy import exceptions as os_errors

from pingvas_kit.logging import get_logger

from ..base import EngineUnavailable, ImageDoc, ImageHits, ImageQuery, InvalidCursor, Suggestion
from ._answers import parse_search, parse_suggest
from ._bodies import count_body, delete_tenant_body, search_body, suggest_body
from ._cursors import decode_cursor
from ._documents import bulk_batches, bulk_outcome, delete_ops, index_ops
from ._generations import (
    AliasState,
    abort_reindex_actions,
    alias_state,
    begin_reindex_body,
    create_generation_body,
    finish_reindex_actions,
    next_generation,
)
from ._names import Names
from ._template import grams_mapping, index_template

log = get_logger("pingvas.search.opensearch")

#: delete-by-query of a large tenant can take a while
DELETE_TENANT_TIMEOUT_S = 300


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """Cluster trouble as EngineUnavailable, with a short reason (never the URL)."""
    try:
        yield
    except os_errors.ConnectionTimeout as exc:
        raise EngineUnavailable("opensearch timed out") from exc
    except os_errors.ConnectionError as exc:
        raise EngineUnavailable("opensearch is unreachable") from exc
    except os_errors.NotFoundError as exc:
        raise EngineUnavailable("opensearch: the index or alias is missing") from exc
    except (os_errors.AuthenticationException, os_errors.AuthorizationException) as exc:
        raise EngineUnavailable("opensearch refused the credentials") from exc
    except os_errors.TransportError as exc:
        status = exc.status_code
        if isinstance(status, int) and (status == 429 or status >= 500):
            raise EngineUnavailable(f"opensearch answered {status}") from exc
        raise


class OpenSearchEngine:
    """The search engine on an OpenSearch cluster (with analysis-nori)."""

    name = "opensearch"

    def __init__(
        self,
        url: str,
        *,
        index_prefix: str = "pingvas-images",
        shards: int = 1,
        replicas: int = 0,
        timeout_s: float = 10.0,
        verify_certs: bool = True,
        refresh: bool | str = False,
        write_targets_ttl_s: float = 1.0,
    ) -> None:
        self._names = Names(index_prefix)
        self._shards = shards
        self._replicas = replicas
        if refresh not in (False, True, "true", "false", "wait_for"):
            raise ValueError("refresh is False, True or 'wait_for'")
        # the `refresh` parameter of every write: None sends none (the 1 s refresh)
        self._refresh: str | None = (
            None if refresh in (False, "false") else "true" if refresh is True else str(refresh)
        )
        self._targets_ttl_s = write_targets_ttl_s
        self._targets: list[str] = []  # cached write targets, looked up at _targets_at
        self._targets_at = 0.0
        # the URL may carry credentials: it goes to the client and nowhere else
        self._client = AsyncOpenSearch(
            hosts=[url],
            timeout=timeout_s,
            verify_certs=verify_certs,
            ssl_show_warn=verify_certs,
            max_retries=2,
            retry_on_timeout=False,
        )

    def __repr__(self) -> str:
        return f"OpenSearchEngine(index_prefix={self._names.prefix!r})"

    @property
    def names(self) -> Names:
        return self._names

    # -- lifecycle

    async def start(self) -> None:
        names = self._names
        with _unavailable():
            await self._client.indices.put_index_template(
                name=names.template,
                body=index_template(names.prefix, self._shards, self._replicas),
            )
            state = await self._state()
            if state:
                # generations made before a field was added to the template get it too
                # (their documents have it only after a reindex)
                await self._client.indices.put_mapping(index=",".join(state), body=grams_mapping())
            if any(names.read in aliases for aliases in state.values()):
                return
            generation = next_generation(names, state)
            try:
                await self._client.indices.create(
                    index=generation,
                    body=create_generation_body(names.prefix, generation, read=True),
                )
            except os_errors.RequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
                # another process started at the same moment: fine if it made the index
                state = await self._state()
                if not any(names.read in aliases for aliases in state.values()):
                    raise
        self._forget_targets()

    async def close(self) -> None:
        await self._client.close()

    async def check(self) -> str:
        try:
            resp = await self._client.indices.get_alias(name=self._names.read)
        except os_errors.ConnectionTimeout:
            return "opensearch timed out"
        except os_errors.ConnectionError:
            return "opensearch is unreachable"
        except os_errors.NotFoundError:
            return f"opensearch: no index behind {self._names.read}"
        except (os_errors.AuthenticationException, os_errors.AuthorizationException):
            return "opensearch refused the credentials"
        except os_errors.TransportError as exc:
            return f"opensearch answered {exc.status_code}"
        if len(resp) != 1:
            return f"opensearch: {self._names.read} names {len(resp)} indexes"
        return "ok"

    # -- writes

    async def upsert(self, docs: Sequence[ImageDoc]) -> None:
        if docs:
            await self._write_all(index_ops(docs))

    async def delete(self, tenant_id: str, image_ids: Sequence[str]) -> None:
        if not tenant_id:
            raise ValueError("a delete needs a tenant id")
        if image_ids:
            await self._write_all(delete_ops([(tenant_id, i) for i in image_ids]))

    async def delete_tenant(self, tenant_id: str) -> None:
        req = delete_tenant_body(tenant_id, refresh=self._refresh is not None)
        with _unavailable():
            await self._client.delete_by_query(
                index=self._names.write,
                body=req.body,
                request_timeout=DELETE_TENANT_TIMEOUT_S,
                **req.params,
            )

    # -- reads

    async def search(self, query: ImageQuery) -> ImageHits:
        after = decode_cursor(query.cursor, query) if query.cursor else None
        req = search_body(query, after=after)
        with _unavailable():
            try:
                resp = await self._client.search(
                    index=self._names.read, body=req.body, **req.params
                )
            except os_errors.RequestError:
                if after is not None:  # a hand-made cursor OpenSearch cannot use
                    raise InvalidCursor("not a cursor") from None
                raise
        return parse_search(resp, query)

    async def suggest(self, tenant_id: str, prefix: str, *, limit: int = 8) -> list[Suggestion]:
        req = suggest_body(tenant_id, prefix, limit)
        with _unavailable():
            resp = await self._client.search(index=self._names.read, body=req.body, **req.params)
        return parse_suggest(resp, prefix, limit)

    async def count(self, tenant_id: str | None = None) -> int:
        with _unavailable():
            if tenant_id is None:
                resp = await self._client.count(index=self._names.read)
            else:
                req = count_body(tenant_id)
                resp = await self._client.count(index=self._names.read, body=req.body, **req.params)
        return int(resp["count"])

    # -- reindex

    async def begin_reindex(self) -> str:
        names = self._names
        with _unavailable():
            for _attempt in range(5):
                generation = next_generation(names, await self._state())
                try:
                    await self._client.indices.create(
                        index=generation, body=begin_reindex_body(names.prefix, generation)
                    )
                    break
                except os_errors.RequestError as exc:
                    if exc.error != "resource_already_exists_exception":
                        raise
            else:
                raise EngineUnavailable("could not create a new generation")
        self._forget_targets()
        # every process caches the write targets this long: once it has passed, every
        # write handled from now on lands in the new generation too
        await asyncio.sleep(self._targets_ttl_s)
        return generation

    async def bulk_load(self, generation: str, docs: Sequence[ImageDoc]) -> None:
        if docs and await self._write_one(generation, index_ops(docs)):
            raise ValueError(f"{generation} is not a generation being written")

    async def delete_from(self, generation: str, pairs: Sequence[tuple[str, str]]) -> None:
        if pairs and await self._write_one(generation, delete_ops(pairs)):
            raise ValueError(f"{generation} is not a generation being written")

    async def finish_reindex(self, generation: str) -> None:
        names = self._names
        names.write_alias(generation)  # one of ours, or ValueError
        with _unavailable():
            state = await self._state()
            if names.write not in state.get(generation, set()):
                raise ValueError(f"{generation} is not a generation being written")
            await self._client.indices.update_aliases(
                body=finish_reindex_actions(names.prefix, generation, state)
            )
        self._forget_targets()

    async def abort_reindex(self, generation: str) -> None:
        names = self._names
        with _unavailable():
            state = await self._state()
            if generation not in state:
                names.write_alias(generation)  # one of ours, or ValueError
                return  # already gone
            body = abort_reindex_actions(names.prefix, generation, state)
            try:
                await self._client.indices.update_aliases(body=body)
            except os_errors.NotFoundError:
                pass  # dropped meanwhile
        self._forget_targets()

    async def generations(self) -> dict[str, list[str]]:
        names = self._names
        with _unavailable():
            state = await self._state()
        ordered = sorted(state, key=lambda i: names.number(i) or 0)
        return {
            "read": [i for i in ordered if names.read in state[i]],
            "write": [i for i in ordered if names.write in state[i]],
        }

    # -- internals

    async def _state(self) -> AliasState:
        try:
            resp = await self._client.indices.get_alias(index=self._names.pattern)
        except os_errors.NotFoundError:
            return {}
        return alias_state(self._names, resp)

    def _forget_targets(self) -> None:
        self._targets = []

    async def _write_targets(self) -> list[str]:
        """The generations taking writes, cached for `write_targets_ttl_s`."""
        now = time.monotonic()
        if self._targets and now - self._targets_at < self._targets_ttl_s:
            return self._targets
        with _unavailable():
            try:
                resp = await self._client.indices.get_alias(name=self._names.write)
            except os_errors.NotFoundError:
                raise EngineUnavailable(
                    f"opensearch: no index behind {self._names.write}"
                ) from None
        names = self._names
        numbered = {i: n for i in resp if (n := names.number(i)) is not None}
        targets = sorted(numbered, key=numbered.__getitem__)
        if not targets:
            raise EngineUnavailable(f"opensearch: no index behind {names.write}")
        self._targets, self._targets_at = targets, now
        return targets

    async def _write_all(self, ops: list[list[dict[str, Any]]]) -> None:
        """Write to every write target; when one has gone meanwhile (a reindex finished
        or was aborted), look the targets up again and write once more (writes are
        idempotent)."""
        for attempt in range(2):
            targets = await self._write_targets()
            stale = False
            for generation in targets:
                stale = await self._write_one(generation, ops) or stale
            if not stale:
                return
            self._forget_targets()
            log.info("search.write_targets_changed", attempt=attempt + 1)
        raise EngineUnavailable("opensearch write targets kept changing")

    async def _write_one(self, generation: str, ops: list[list[dict[str, Any]]]) -> bool:
        """Write to one generation through its write alias; True if that alias is gone."""
        alias = self._names.write_alias(generation)
        params: dict[str, str] = {"require_alias": "true"}
        if self._refresh is not None:
            params["refresh"] = self._refresh
        with _unavailable():
            for body in bulk_batches(ops):
                try:
                    resp = await self._client.bulk(index=alias, body=body, **params)
                except os_errors.NotFoundError:
                    return True
                if bulk_outcome(resp):
                    return True
        return False
