"""Credits can never be overspent: concurrent requests against one balance on Postgres."""

import asyncio
from collections import Counter

import pytest
from pingvas_render.adapters.db import entitlements, jobs


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_100_concurrent_requests_against_a_balance_for_50(render_for, db_backend):
    async with render_for(db_backend) as render:
        tenant = await render.tenant(credits=50, max_concurrent_jobs=10)  # 100 unfinished allowed
        me = render.user(tenant)
        answers = await asyncio.gather(*(render.generate(me) for _ in range(100)))
        assert Counter(r.status_code for r in answers) == {202: 50, 402: 50}
        # each refusal quotes what was left when it was refused, never an earlier read
        refused = [r.json() for r in answers if r.status_code == 402]
        assert {(p["credits_needed"], p["credits_available"]) for p in refused} == {(1, 0)}
        assert await render.count(jobs, tenant_id=tenant) == 50
        assert await render.balance(tenant) == {"available": 0, "reserved": 50}
        async with render.db.sessionmaker() as session:
            row = (
                await session.execute(
                    entitlements.select().where(entitlements.c.tenant_id == tenant)
                )
            ).one()
        assert row.credits_available - row.credits_reserved == 0
        assert len(await render.events("job.queued")) == 50
