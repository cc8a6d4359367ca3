"""The embedded engine (SQLite FTS5): the engine contract, plus what only a file shares:
another connection or process on the same file, reopening it, its health check."""

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pingvas_search.engine.base import EngineUnavailable, ImageQuery
from pingvas_search.engine.embedded import EmbeddedEngine, plan_query, segments

sys.path.insert(0, str(Path(__file__).parent))

from engine_contract import CRAFTED, EngineContract, make_doc, new_tenant  # noqa: E402


@pytest.fixture
async def index_path(tmp_path):
    return tmp_path / "index" / "search.sqlite"


async def started(path: Path) -> EmbeddedEngine:
    engine = EmbeddedEngine(path)
    await engine.start()
    return engine


class TestEmbeddedContract(EngineContract):
    @pytest.fixture
    async def engine(self, index_path):
        engine = await started(index_path)
        yield engine
        await engine.close()


async def test_a_reindex_begun_by_one_connection_receives_the_others_writes(index_path):
    service, cli = await started(index_path), await started(index_path)
    try:
        tenant = new_tenant()
        await service.upsert([make_doc(tenant, "고양이 하나")])
        gen = await cli.begin_reindex()
        assert (await service.generations())["write"] == ["g1", gen]
        written = make_doc(tenant, "고양이 둘")
        await service.upsert([written])  # the service's writes now land in both
        await cli.finish_reindex(gen)
        hits = await service.search(ImageQuery(tenant_id=tenant, text="고양이"))
        assert [h.doc.image_id for h in hits.items] == [written.image_id]
        assert await service.generations() == {"read": [gen], "write": [gen]}
    finally:
        await service.close()
        await cli.close()


async def test_another_process_writes_into_a_reindex_and_reads_its_result(index_path):
    tenant = new_tenant()
    engine = await started(index_path)
    try:
        await engine.upsert([make_doc(tenant, "고양이 하나")])
        gen = await engine.begin_reindex()
        script = textwrap.dedent(
            f"""
            import asyncio, sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from engine_contract import make_doc
            from pingvas_search.engine.base import ImageQuery
            from pingvas_search.engine.embedded import EmbeddedEngine

            async def main():
                engine = EmbeddedEngine({str(index_path)!r})
                await engine.start()
                print((await engine.generations())["write"])
                await engine.upsert([make_doc({tenant!r}, "다른 프로세스의 고양이")])
                await engine.close()

            asyncio.run(main())
            """
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == str(["g1", gen])
        await engine.finish_reindex(gen)
        hits = await engine.search(ImageQuery(tenant_id=tenant, text="고양이"))
        assert [h.doc.prompt for h in hits.items] == ["다른 프로세스의 고양이"]
    finally:
        await engine.close()


async def test_the_index_survives_a_reopen(index_path):
    tenant = new_tenant()
    engine = await started(index_path)
    docs = [make_doc(tenant, "귀여운 고양이들이 노는 사진"), make_doc(tenant, "a cat on a sofa")]
    await engine.upsert(docs)
    gen = await engine.begin_reindex()
    await engine.bulk_load(gen, docs)
    await engine.finish_reindex(gen)
    await engine.close()

    engine = await started(index_path)
    try:
        assert await engine.generations() == {"read": [gen], "write": [gen]}
        assert await engine.count(tenant) == 2
        hits = await engine.search(ImageQuery(tenant_id=tenant, text="sofas"))
        assert [h.doc for h in hits.items] == [docs[1]]
        assert [s.prompt for s in await engine.suggest(tenant, "고양")] == [docs[0].prompt]
    finally:
        await engine.close()


async def test_check_says_ok_and_why_not(index_path):
    engine = await started(index_path)
    assert await engine.check() == "ok"
    await engine.close()
    assert await engine.check() != "ok"
    with pytest.raises(EngineUnavailable):
        await engine.count()


async def test_generations_are_checked(index_path):
    engine = await started(index_path)
    try:
        with pytest.raises(ValueError):
            await engine.bulk_load("g1; DROP TABLE meta", [make_doc("t", "x")])
        with pytest.raises(ValueError):  # not being written
            await engine.bulk_load("g7", [make_doc("t", "x")])
        with pytest.raises(ValueError):  # the read generation cannot be dropped
            await engine.abort_reindex("g1")
        with pytest.raises(ValueError):
            await engine.finish_reindex("g9")
        assert await engine.generations() == {"read": ["g1"], "write": ["g1"]}
        assert await engine.check() == "ok"
    finally:
        await engine.close()


async def test_concurrent_reads_and_writes(index_path):
    engine = await started(index_path)
    tenant = new_tenant()
    try:
        docs = [make_doc(tenant, f"고양이 그림 {i}번 cat number {i}") for i in range(60)]

        async def write(i: int) -> None:
            await engine.upsert(docs[i * 6 : i * 6 + 6])

        async def read() -> None:
            for text in ["고양이", "cat", ""]:
                await engine.search(ImageQuery(tenant_id=tenant, text=text))
            await engine.suggest(tenant, "고")

        await asyncio.gather(*(write(i) for i in range(10)), *(read() for _ in range(10)))
        assert (await engine.search(ImageQuery(tenant_id=tenant, text="고양이"))).total == 60
    finally:
        await engine.close()


def test_queries_are_quoted_terms_only():
    """Whatever is typed, the FTS5 expression holds nothing but quoted terms joined by
    the engine's own AND / OR and column names."""
    import re

    own = re.compile(r'"(?:[^"]|"")*"|\(|\)|AND|OR|terms|bigrams|raw|:|\s')
    for text in CRAFTED + ['"""', 'x"y', "고양이들", "cats, dogs"]:
        plan = plan_query(text)
        if plan is None:
            continue
        assert own.sub("", plan.expression) == "", (text, plan.expression)


def test_segments_cut_long_texts_at_word_boundaries():
    text = " ".join(f"w{i:03d}" for i in range(100))  # 499 characters
    first = text.index("w060")
    segs = segments(text, [(first, first + 4)])
    joined = "".join(s.text for s in segs)
    assert [s.text for s in segs if s.match] == ["w060"]
    assert joined.startswith("…w") and joined.endswith("…")
    assert len(joined) <= 202
    assert joined.strip("…") in text
    assert segments("짧은 글", []) == [segments("짧은 글", [])[0]]
    assert [s.text for s in segments("abc", [(0, 3)]) if s.match] == ["abc"]
