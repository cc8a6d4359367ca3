"""The embedded search engine (SQLite FTS5 + kiwi) at 100,000 images, on this machine.

Builds a fresh index in a temporary folder from synthetic prompts (Korean, English and
mixed, made from word lists with a fixed seed; each prompt is one job's 1-4 images; ~50
tenants of unequal size) through the engine's own reindex API (begin_reindex,
bulk_load in pages of 500, finish_reindex), and prints:

  indexing     docs/s (analysis + insert), the time finish_reindex takes (it merges the
               index), the file's size, and one-image upserts (what an event costs)
  search       p50/p95/p99 latency of single queries, one tenant at a time, of realistic
               shapes: 1-3 words, Korean, English, mixed, a partial Korean word, relevance
               or newest, some with a model filter, some the next page, some empty
  suggest      p50/p95/p99 of prefixes typed into the search box (part of a word of one
               of the tenant's prompts, sometimes after a whole word; sometimes empty)

Target: p99 < 50 ms for search and for suggest at 100,000 images.

    uv run python bench/search.py [--docs 100000] [--queries 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pingvas_search.engine.base import ImageDoc, ImageQuery
from pingvas_search.engine.embedded import EmbeddedEngine
from pingvas_search.engine.text import get_analyzer
from tqdm import tqdm

TARGET_P99_MS = 50.0
BATCH = 500
TENANTS = 50
MODELS = ["tiny-sd1", "sd15", "sdxl", "flux-schnell"]

KO_NOUNS = """고양이 강아지 여우 토끼 호랑이 사자 곰 펭귄 부엉이 말 소녀 소년 기사 마법사 로봇
우주비행사 용 나비 꽃 나무 숲 바다 산 호수 강 도시 거리 골목 카페 도서관 성 궁전 정원 들판
사막 해변 섬 하늘 구름 달 별 노을 등대 기차 자전거 배 우주선 케이크 커피 고래 사슴 여우비
벚꽃 단풍 폭포 동굴 마을 시장 지하철 항구 온실 다락방 소파 창가 침대 책상 피아노""".split()
KO_PLACES = """숲 바다 산 호수 강가 도시 거리 골목 카페 도서관 성 궁전 정원 들판 사막 해변 섬
하늘 구름 우주 마을 시장 항구 온실 다락방 소파 창가 침대 지붕 다리""".split()
KO_ADJ = """귀여운 작은 커다란 푸른 붉은 하얀 검은 빛나는 오래된 신비로운 아름다운 조용한
따뜻한 차가운 행복한 슬픈 졸린 용감한 화려한 낡은 반짝이는 거대한 부드러운""".split()
KO_VERBS = """노는 자는 달리는 날아가는 앉아 있는 웃는 춤추는 걷는 책을 읽는 노래하는
바라보는 헤엄치는 잠든 쉬고 있는 기다리는""".split("\n")
KO_VERBS = [v for line in KO_VERBS for v in line.split(" ") if v] + ["앉아 있는", "책을 읽는"]
KO_STYLES = """수채화|유화|연필 스케치|디지털 아트|픽셀 아트|애니메이션 스타일|사진|일러스트|
3D 렌더링|고해상도|시네마틱 조명|동화책 삽화|파스텔 톤|흑백 사진|몽환적인 분위기""".replace(
    "\n", ""
).split("|")
EN_NOUNS = """cat dog fox rabbit tiger lion bear penguin owl horse girl boy knight wizard robot
astronaut dragon butterfly flower tree whale deer lighthouse train bicycle boat spaceship
cake coffee castle village market harbor greenhouse attic sofa window bed piano""".split()
EN_PLACES = """forest ocean mountain lake river city street alley cafe library castle palace
garden field desert beach island sky clouds space village market harbor roof bridge""".split()
EN_ADJ = """cute small giant blue red white black glowing old mysterious beautiful quiet warm
cold happy sad sleepy brave colorful ancient sparkling huge soft""".split()
EN_VERBS = """sleeping playing running flying sitting smiling dancing walking reading singing
watching swimming resting waiting""".split()
EN_STYLES = """watercolor|oil painting|pencil sketch|digital art|pixel art|anime style|photo|
illustration|3d render|highly detailed|cinematic lighting|storybook illustration|pastel colors|
black and white photo|dreamy atmosphere|4k|trending on artstation""".replace("\n", "").split("|")


def has_batchim(word: str) -> bool:
    last = ord(word[-1]) - 0xAC00
    return 0 <= last < 11172 and last % 28 != 0


def subject(noun: str, rnd: random.Random) -> str:
    return noun + rnd.choice(
        ["이" if has_batchim(noun) else "가", "들이", "은" if has_batchim(noun) else "는", ""]
    )


def korean_prompt(rnd: random.Random) -> str:
    noun = rnd.choice(KO_NOUNS)
    parts = [rnd.choice(KO_ADJ), subject(noun, rnd)]
    if rnd.random() < 0.8:
        place = rnd.choice(KO_PLACES)
        parts.insert(0, place + rnd.choice(["에서", " 위의", " 아래", " 옆의", "의"]))
    parts.append(rnd.choice(KO_VERBS))
    parts.append(rnd.choice(["모습", "장면", "그림", "사진", "풍경"]))
    text = " ".join(parts)
    if rnd.random() < 0.7:
        text += ", " + ", ".join(rnd.sample(KO_STYLES, rnd.randint(1, 3)))
    return text


def english_prompt(rnd: random.Random) -> str:
    noun = rnd.choice(EN_NOUNS)
    if rnd.random() < 0.3:
        noun += "s"
        art = rnd.choice(["two", "three", "many", "some"])
    else:
        art = "a"
    text = f"{art} {rnd.choice(EN_ADJ)} {noun} {rnd.choice(EN_VERBS)}"
    if rnd.random() < 0.8:
        text += f" {rnd.choice(['in', 'on', 'under', 'near', 'above'])} the {rnd.choice(EN_PLACES)}"
    if rnd.random() < 0.8:
        text += ", " + ", ".join(rnd.sample(EN_STYLES, rnd.randint(1, 4)))
    return text


def mixed_prompt(rnd: random.Random) -> str:
    shape = rnd.random()
    if shape < 0.4:
        return f"{korean_prompt(rnd)}, {', '.join(rnd.sample(EN_STYLES, rnd.randint(1, 3)))}"
    if shape < 0.7:
        return f"{english_prompt(rnd)}, {rnd.choice(KO_STYLES)}"
    i = rnd.randrange(len(EN_NOUNS))
    ko = KO_NOUNS[i % len(KO_NOUNS)]
    place = rnd.randrange(len(EN_PLACES))
    return (
        f"{KO_PLACES[place % len(KO_PLACES)]} 위의 {ko}, a {EN_NOUNS[i]} "
        f"{rnd.choice(EN_VERBS)} on the {EN_PLACES[place]}"
    )


def make_prompt(rnd: random.Random) -> str:
    r = rnd.random()
    if r < 0.45:
        return korean_prompt(rnd)
    if r < 0.8:
        return english_prompt(rnd)
    return mixed_prompt(rnd)


def make_corpus(n: int, rnd: random.Random) -> tuple[list[ImageDoc], dict[str, list[str]]]:
    """n images in jobs of 1-4 (one prompt each); tenants' sizes fall off like 1/rank."""
    tenants = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(TENANTS)]
    weights = [1 / (i + 1) ** 0.8 for i in range(TENANTS)]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    docs: list[ImageDoc] = []
    prompts: dict[str, list[str]] = {t: [] for t in tenants}
    while len(docs) < n:
        tenant = rnd.choices(tenants, weights)[0]
        # users rerun their own prompts now and then
        if prompts[tenant] and rnd.random() < 0.2:
            prompt = rnd.choice(prompts[tenant])
        else:
            prompt = make_prompt(rnd)
            prompts[tenant].append(prompt)
        job = str(uuid.UUID(int=rnd.getrandbits(128)))
        model = rnd.choice(MODELS)
        created = start + timedelta(seconds=len(docs) * 30 + rnd.randint(0, 29))
        for index in range(min(rnd.randint(1, 4), n - len(docs))):
            image = str(uuid.UUID(int=rnd.getrandbits(128)))
            docs.append(
                ImageDoc(
                    tenant_id=tenant,
                    image_id=image,
                    job_id=job,
                    user_id=None,
                    api_key_id=None,
                    index=index,
                    prompt=prompt,
                    negative_prompt="blurry, low quality",
                    model=model,
                    width=512,
                    height=512,
                    seed=rnd.getrandbits(31),
                    steps=20,
                    cfg_scale=7.5,
                    scheduler="euler",
                    png_key=f"{tenant}/{image}.png",
                    thumbnail_key=f"{tenant}/{image}.webp",
                    size_bytes=300_000,
                    created_at=created,
                )
            )
    rnd.shuffle(docs)  # a reindex pages in id order, not time order
    return docs, prompts


def search_text(rnd: random.Random, prompts: list[str]) -> str:
    """What a user types: mostly words of something they generated (1-3 of its words,
    sometimes inflected differently), else words from the lists; a few partial Korean
    words (found through bigrams) and empty queries (the gallery's "everything")."""
    r = rnd.random()
    if r < 0.55 and prompts:
        words = [w.strip(",") for w in rnd.choice(prompts).split()]
        words = [w for w in words if w not in {"a", "the", "on", "in", "two", "three"}]
        k = rnd.randint(1, min(3, len(words)))
        i = rnd.randrange(len(words) - k + 1)
        picked = words[i : i + k]
        if rnd.random() < 0.3:  # the bare noun of a Korean word with a particle
            picked = [w[:-2] if w.endswith("들이") else w for w in picked]
        return " ".join(picked)
    if r < 0.7:  # Korean, 1-3 words
        words = [
            rnd.choice(KO_NOUNS),
            rnd.choice(KO_ADJ),
            rnd.choice(KO_PLACES) + rnd.choice(["에서", ""]),
            subject(rnd.choice(KO_NOUNS), rnd),
            rnd.choice(KO_VERBS).split()[-1],
            rnd.choice(KO_STYLES).split()[0],
        ]
        return " ".join(rnd.sample(words, rnd.randint(1, 2)))
    if r < 0.82:  # English, 1-3 words
        words = [
            rnd.choice(EN_NOUNS) + rnd.choice(["", "s"]),
            rnd.choice(EN_ADJ),
            rnd.choice(EN_VERBS),
            rnd.choice(EN_PLACES),
            rnd.choice(EN_STYLES).split()[0],
        ]
        return " ".join(rnd.sample(words, rnd.randint(1, 2)))
    if r < 0.9:  # mixed
        return f"{rnd.choice(KO_NOUNS)} {rnd.choice(EN_NOUNS + EN_STYLES)}"
    if r < 0.95:  # a partial Korean word: found through bigrams
        noun = rnd.choice([w for w in KO_NOUNS if len(w) >= 3])
        return noun[:2]
    return ""


def suggest_prefix(rnd: random.Random, prompts: list[str]) -> str:
    if rnd.random() < 0.1 or not prompts:
        return ""
    words = rnd.choice(prompts).split()
    k = rnd.randint(0, min(2, len(words) - 1))
    last = words[k]
    return " ".join([*words[:k], last[: rnd.randint(1, max(1, len(last) - 1))]])


def file_size(folder: Path) -> int:
    """The index's bytes: the database and its write-ahead log."""
    return sum(p.stat().st_size for p in folder.iterdir())


def percentiles(values: list[float]) -> tuple[float, float, float]:
    values = sorted(values)

    def at(p: float) -> float:
        return values[min(len(values) - 1, int(len(values) * p))] * 1000

    return at(0.5), at(0.95), at(0.99)


def report(name: str, latencies: list[float]) -> bool:
    p50, p95, p99 = percentiles(latencies)
    ok = p99 < TARGET_P99_MS
    print(
        f"{name:28s} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   p99 {p99:7.2f} ms   "
        f"({len(latencies)} queries)  {'PASS' if ok else 'MISS'} (p99 < {TARGET_P99_MS:.0f} ms)"
    )
    return ok


async def run(args: argparse.Namespace) -> int:
    rnd = random.Random(args.seed)
    t = time.perf_counter()
    docs, prompts = make_corpus(args.docs, rnd)
    tenants = list(prompts)
    print(
        f"bench/search.py: {len(docs)} images, {sum(len(p) for p in prompts.values())} "
        f"distinct prompts, {len(tenants)} tenants (largest {max(len(p) for p in prompts.values())} "
        f"prompts), generated in {time.perf_counter() - t:.1f} s"
    )
    t = time.perf_counter()
    get_analyzer()
    print(f"{'kiwi start':28s} {time.perf_counter() - t:8.2f} s")

    folder = Path(tempfile.mkdtemp(prefix="pingvas-bench-search-index-"))
    engine = EmbeddedEngine(folder / "search-index.sqlite")
    try:
        await engine.start()
        gen = await engine.begin_reindex()
        t = time.perf_counter()
        with tqdm(total=len(docs), unit="doc", desc="indexing", leave=False) as bar:
            for i in range(0, len(docs), BATCH):
                page = docs[i : i + BATCH]
                await engine.bulk_load(gen, page)
                bar.update(len(page))
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        await engine.finish_reindex(gen)
        finish_s = time.perf_counter() - t
        size = file_size(folder)
        print(
            f"{'indexing (analysis+insert)':28s} {len(docs) / load_s:8.0f} docs/s  ({load_s:.1f} s)"
        )
        print(f"{'finish_reindex (merge)':28s} {finish_s:8.2f} s")
        print(
            f"{'index file size':28s} {size / 2**20:8.1f} MiB  ({size / len(docs):.0f} bytes/doc)"
        )
        assert await engine.count() == len(docs)

        # one image per call, as the consumer writes them
        extra, _ = make_corpus(200, random.Random(args.seed + 1))
        extra = [ImageDoc(**{**d.__dict__, "tenant_id": rnd.choice(tenants)}) for d in extra]
        lat = []
        for doc in extra:
            t = time.perf_counter()
            await engine.upsert([doc])
            lat.append(time.perf_counter() - t)
        p50, _, p99 = percentiles(lat)
        print(f"{'upsert of one image':28s} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")

        # searches: one tenant at a time, sequentially
        queries = []
        for _ in range(args.queries):
            tenant = rnd.choice(tenants)
            text = search_text(rnd, prompts[tenant])
            sort = "newest" if rnd.random() < 0.25 else "relevance"
            model = rnd.choice(MODELS) if rnd.random() < 0.1 else None
            queries.append(
                (
                    ImageQuery(tenant_id=tenant, text=text, sort=sort, model=model),
                    rnd.random() < 0.1,
                )
            )
        for q, _ in queries[:20]:  # warm the page cache
            await engine.search(q)
        lat, found, pages = [], 0, 0
        for q, next_page in tqdm(queries, desc="search", unit="q", leave=False):
            t = time.perf_counter()
            hits = await engine.search(q)
            lat.append(time.perf_counter() - t)
            found += bool(hits.items)
            if next_page and hits.next_cursor:
                t = time.perf_counter()
                await engine.search(ImageQuery(**{**q.__dict__, "cursor": hits.next_cursor}))
                lat.append(time.perf_counter() - t)
                pages += 1
        ok_search = report("search", lat)
        print(f"{'':28s} ({found}/{len(queries)} with results, {pages} next pages)")

        prefixes = []
        for _ in range(args.queries):
            tenant = rnd.choice(tenants)
            prefixes.append((tenant, suggest_prefix(rnd, prompts[tenant])))
        for tenant, prefix in prefixes[:20]:
            await engine.suggest(tenant, prefix)
        lat, found = [], 0
        for tenant, prefix in tqdm(prefixes, desc="suggest", unit="q", leave=False):
            t = time.perf_counter()
            got = await engine.suggest(tenant, prefix)
            lat.append(time.perf_counter() - t)
            found += bool(got)
        ok_suggest = report("suggest", lat)
        print(f"{'':28s} ({found}/{len(prefixes)} with suggestions)")
    finally:
        await engine.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok_search and ok_suggest else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="images to index")
    parser.add_argument("--queries", type=int, default=1000, help="searches, and suggestions")
    parser.add_argument("--seed", type=int, default=1)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
