"""The OpenSearch engine against a real cluster with analysis-nori: the engine contract
(engine_contract.py) and what is particular to OpenSearch (the Korean analyzer, routing,
the strict mapping, a writer whose cached write targets went stale during a reindex).

Runs only when OPENSEARCH_URL is set:

    scripts/compose-secrets && docker compose up -d opensearch
    OPENSEARCH_URL=http://127.0.0.1:9200 uv run pytest services/search/tests/test_opensearch_integration.py

Each test works on indexes of its own prefix (test-<random>) and deletes them, and the
template, afterwards."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch
from opensearchpy import exceptions as os_errors
from pingvas_search.engine.base import ImageQuery
from pingvas_search.engine.opensearch import Names, OpenSearchEngine

sys.path.insert(0, str(Path(__file__).parent))
from engine_contract import EngineContract, make_doc, new_tenant  # noqa: E402

URL = os.environ.get("OPENSEARCH_URL", "")
VERIFY_CERTS = os.environ.get("OPENSEARCH_VERIFY_CERTS", "true").lower() != "false"

pytestmark = pytest.mark.skipif(
    not URL,
    reason=(
        "OPENSEARCH_URL is not set: these run against a real OpenSearch with analysis-nori "
        "(docker compose up opensearch, then OPENSEARCH_URL=http://127.0.0.1:9200)"
    ),
)


def raw_client() -> AsyncOpenSearch:
    return AsyncOpenSearch(hosts=[URL], verify_certs=VERIFY_CERTS, ssl_show_warn=False)


async def drop_prefix(prefix: str) -> None:
    """Delete every index and the template of a test prefix (by name, no wildcards)."""
    names = Names(prefix)
    client = raw_client()
    try:
        try:
            indexes = await client.indices.get_alias(index=names.pattern)
        except os_errors.NotFoundError:
            indexes = {}
        for index in indexes:
            if names.number(index) is not None:
                await client.indices.delete(index=index, ignore=404)
        await client.indices.delete_index_template(name=names.template, ignore=404)
    finally:
        await client.close()


@asynccontextmanager
async def started_engine(**kw) -> AsyncIterator[OpenSearchEngine]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    engine = OpenSearchEngine(
        URL,
        index_prefix=prefix,
        verify_certs=VERIFY_CERTS,
        refresh=kw.pop("refresh", True),
        write_targets_ttl_s=kw.pop("write_targets_ttl_s", 0.0),
        **kw,
    )
    try:
        await engine.start()
        yield engine
    finally:
        await engine.close()
        await drop_prefix(prefix)


class TestOpenSearchContract(EngineContract):
    @pytest.fixture
    async def engine(self):
        async with started_engine() as engine:
            yield engine


# -- what is particular to OpenSearch -------------------------------------------------


@pytest.fixture
async def engine():
    async with started_engine() as engine:
        yield engine


@pytest.fixture
async def client():
    client = raw_client()
    yield client
    await client.close()


async def analyze(client: AsyncOpenSearch, index: str, analyzer: str, text: str) -> list[str]:
    resp = await client.indices.analyze(index=index, body={"analyzer": analyzer, "text": text})
    return [t["token"] for t in resp["tokens"]]


async def test_the_korean_analyzer_keeps_the_noun_and_drops_particles(engine, client):
    index = engine.names.read
    tokens = await analyze(client, index, "korean", "고양이들이")
    assert "고양이" in tokens
    assert "이" not in tokens and "들이" not in tokens
    tokens = await analyze(client, index, "korean", "귀여운 고양이들이 노는 사진.")
    assert {"고양이", "사진", "귀엽"} <= set(tokens)
    assert "." not in tokens
    # Latin words in a Korean prompt: lower-cased, stop words dropped, stemmed
    assert await analyze(client, index, "korean", "The Cats") == ["cat"]
    # Hanja read as Hangul
    tokens = await analyze(client, index, "korean", "大韓民國")
    assert tokens and all("\uac00" <= ch <= "\ud7a3" for t in tokens for ch in t), tokens


async def test_documents_are_routed_by_their_tenant(client):
    # several shards: a search routed to the tenant finds every document only if each
    # was written with that routing
    async with started_engine(shards=3) as engine:
        tenants = [new_tenant(str(i)) for i in range(6)]
        docs = [make_doc(t, f"고양이 그림 {i}") for t in tenants for i in range(3)]
        await engine.upsert(docs)
        for t in tenants:
            hits = await engine.search(ImageQuery(tenant_id=t, text="고양이", limit=10))
            assert hits.total == 3
            assert await engine.count(t) == 3
        raw = await client.search(
            index=engine.names.read, body={"query": {"match_all": {}}, "size": 100}
        )
        assert len(raw["hits"]["hits"]) == len(docs)
        for hit in raw["hits"]["hits"]:
            assert hit["_routing"] == hit["_source"]["tenant_id"]
            assert hit["_id"] == f"{hit['_source']['tenant_id']}/{hit['_source']['image_id']}"


async def test_the_mapping_refuses_unknown_fields_and_keeps_keys_unindexed(engine, client):
    (gen,) = (await engine.generations())["read"]
    with pytest.raises(os_errors.RequestError, match="strict_dynamic_mapping_exception"):
        await client.index(index=gen, body={"tenant_id": "t", "surprise": 1}, routing="t")
    mapping = await client.indices.get_mapping(index=gen)
    props = mapping[gen]["mappings"]["properties"]
    assert props["png_key"]["index"] is False
    assert props["prompt"]["fields"]["prefix"]["type"] == "search_as_you_type"


async def test_check_and_generations(engine):
    assert await engine.check() == "ok"
    gens = await engine.generations()
    assert gens["read"] == gens["write"] == [engine.names.generation(1)]
    # a second start changes nothing
    await engine.start()
    assert await engine.generations() == gens


async def test_a_writer_with_stale_write_targets_writes_to_the_new_generation():
    """Two processes on one prefix: the service (targets cached for a minute) and the
    reindex CLI. After the reindex finished and dropped the old generation, the
    service's next write finds the old alias gone, looks again, and writes to the new
    generation; the dropped index is not re-created."""
    async with started_engine(write_targets_ttl_s=60.0) as service:
        cli = OpenSearchEngine(
            URL,
            index_prefix=service.names.prefix,
            verify_certs=VERIFY_CERTS,
            refresh=True,
            write_targets_ttl_s=0.0,
        )
        try:
            tenant = new_tenant()
            await service.upsert([make_doc(tenant, "고양이 하나")])  # caches [g1]
            gen = await cli.begin_reindex()
            await cli.finish_reindex(gen)
            await service.upsert([make_doc(tenant, "고양이 둘")])
            assert await service.generations() == {"read": [gen], "write": [gen]}
            client = raw_client()
            try:  # the dropped generation was not re-created by the stale write
                assert list(await client.indices.get_alias(index=service.names.pattern)) == [gen]
            finally:
                await client.close()
            hits = await service.search(ImageQuery(tenant_id=tenant, text="고양이"))
            assert [h.doc.prompt for h in hits.items] == ["고양이 둘"]
        finally:
            await cli.close()


async def test_delete_tenant_during_a_reindex_empties_both_generations(engine):
    tenant, other = new_tenant("a"), new_tenant("b")
    await engine.upsert([make_doc(tenant, "고양이"), make_doc(other, "고양이")])
    gen = await engine.begin_reindex()
    await engine.bulk_load(gen, [make_doc(tenant, "고양이 재색인"), make_doc(other, "고양이")])
    await engine.delete_tenant(tenant)
    assert await engine.count(tenant) == 0
    await engine.finish_reindex(gen)
    assert await engine.count(tenant) == 0
    assert await engine.count(other) == 1


async def test_bulk_load_into_a_generation_not_being_written_is_refused(engine, client):
    (g1,) = (await engine.generations())["read"]
    gen = await engine.begin_reindex()
    await engine.abort_reindex(gen)
    with pytest.raises(ValueError):
        await engine.bulk_load(gen, [make_doc(new_tenant(), "고양이")])
    assert await engine.generations() == {"read": [g1], "write": [g1]}
    # the write did not re-create the dropped index from the template
    assert list(await client.indices.get_alias(index=engine.names.pattern)) == [g1]
