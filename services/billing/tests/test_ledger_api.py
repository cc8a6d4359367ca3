"""The credits and usage API on the real billing app: a tenant opened by tenant.created,
render's job events delivered the way the bus does (through the service's inbox), and
requests forwarded with a signed identity the way the gateway does."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pingvas_billing.app import create_app
from pingvas_billing.domain.ledger import add_month
from pingvas_billing.settings import Settings

from pingvas_contracts import EventData, envelope_of, example
from pingvas_contracts.events.render import JobCompleted, JobFailed, JobQueued
from pingvas_contracts.events.tenants import TenantCreated
from pingvas_kit.identity import Identity, IdentityHeaders
from pingvas_kit.problems import PROBLEM_JSON

CREATED = datetime.now(UTC).replace(microsecond=0)
TODAY = CREATED.date()


class Api:
    def __init__(self, service) -> None:
        self.service = service
        self.client = service.client

    def who(self, tenant_id: str, role: str = "admin", user_id: str | None = None):
        identity = Identity(
            principal_id=user_id or str(uuid.uuid4()),
            kind="user",
            tenant_id=tenant_id,
            roles=(role,),
            email_verified=True,
        )
        secret = self.service.settings.internal_secret.get_secret_value()
        return IdentityHeaders(identity, secret, audience="billing")

    def key(self, tenant_id: str) -> dict[str, str]:
        identity = Identity(
            principal_id=str(uuid.uuid4()),
            kind="api_key",
            tenant_id=tenant_id,
            scopes=("generations:read",),
        )
        secret = self.service.settings.internal_secret.get_secret_value()
        return IdentityHeaders(identity, secret, audience="billing")

    async def deliver(self, data: EventData, *, tenant_id: str) -> None:
        await self.service.runtime.consumer(envelope_of(data, tenant_id=tenant_id))

    async def tenant(self) -> str:
        tenant_id = str(uuid.uuid4())
        await self.deliver(
            example(
                TenantCreated,
                name="하늘 스튜디오",
                slug=f"t-{tenant_id[:8]}",
                owner_user_id=str(uuid.uuid4()),
                owner_email="jiwoo@haneul.example",
                owner_display_name="김지우",
                locale="ko",
                plan="free",
                created_at=CREATED,
            ),
            tenant_id=tenant_id,
        )
        return tenant_id

    async def job(
        self,
        tenant_id: str,
        *,
        used: int,
        at: datetime,
        user_id: str | None = None,
        api_key_id: str | None = None,
        reserved: int | None = None,
        end: str = "completed",
    ) -> str:
        job_id = str(uuid.uuid4())
        reserved = used if reserved is None else reserved
        who = {"user_id": user_id, "api_key_id": api_key_id}
        await self.deliver(
            example(
                JobQueued,
                **who,
                job_id=job_id,
                request={
                    "prompt": "고양이가 소파 위에서 자는 사진",
                    "model": "sd-1.5",
                    "width": 512,
                    "height": 512,
                    "num_images": 1,
                    "steps": 25,
                    "cfg_scale": 7.0,
                    "scheduler": "euler",
                    "seed": 7,
                },
                credits_reserved=reserved,
                queued_at=at,
            ),
            tenant_id=tenant_id,
        )
        if end == "completed":
            await self.deliver(
                example(
                    JobCompleted,
                    **who,
                    job_id=job_id,
                    image_ids=[str(uuid.uuid4())],
                    credits_reserved=reserved,
                    credits_used=used,
                    completed_at=at,
                ),
                tenant_id=tenant_id,
            )
        elif end == "failed":
            await self.deliver(
                example(
                    JobFailed,
                    **who,
                    job_id=job_id,
                    error_code="internal",
                    reason="Something failed.",
                    attempts=1,
                    credits_reserved=reserved,
                    credits_released=reserved,
                    failed_at=at,
                ),
                tenant_id=tenant_id,
            )
        return job_id

    async def credits(self, tenant_id: str, role: str = "member") -> dict[str, Any]:
        answer = await self.client.get("/api/v1/billing/credits", headers=self.who(tenant_id, role))
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def usage(self, tenant_id: str, role: str = "admin", headers=None, **params: Any):
        return await self.client.get(
            "/api/v1/billing/usage",
            params=params,
            headers={**self.who(tenant_id, role), **(headers or {})},
        )


@pytest.fixture
async def api(run_service, db_backend) -> AsyncIterator[Api]:
    async with run_service(create_app, Settings, **db_backend) as service:
        yield Api(service)


BOTH = pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)


@BOTH
async def test_credits_follow_the_free_grant_and_render_s_jobs(api):
    tenant = await api.tenant()
    credits = await api.credits(tenant)
    assert datetime.fromisoformat(credits.pop("next_grant_at")) == add_month(CREATED)
    assert credits == {
        "balance": 50,
        "reserved": 0,
        "available": 50,
        "plan": "free",
        "next_grant_credits": 50,
    }
    running = await api.job(tenant, used=0, reserved=8, at=CREATED, end="running")
    await api.job(tenant, used=4, at=CREATED)
    await api.job(tenant, used=0, reserved=6, at=CREATED, end="failed")
    credits = await api.credits(tenant)
    assert (credits["balance"], credits["reserved"], credits["available"]) == (46, 8, 38)
    assert running

    # another tenant sees only its own; an API key gets no answer here
    other = await api.tenant()
    assert (await api.credits(other))["balance"] == 50
    refused = await api.client.get("/api/v1/billing/credits", headers=api.key(tenant))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    unsigned = await api.client.get("/api/v1/billing/credits")
    assert unsigned.status_code == 401


@BOTH
async def test_usage_groups_settled_credits_by_day_user_and_api_key(api):
    tenant, other = await api.tenant(), await api.tenant()
    ann, bo, key = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    day1 = datetime.combine(TODAY - timedelta(days=2), datetime.min.time(), UTC) + timedelta(
        hours=23, minutes=59
    )
    day2 = day1 + timedelta(minutes=2)  # the next UTC day
    await api.job(tenant, used=4, at=day1, user_id=ann)
    await api.job(tenant, used=2, at=day1, user_id=bo)
    await api.job(tenant, used=3, at=day2, user_id=ann)
    await api.job(tenant, used=5, at=day2, api_key_id=key)
    await api.job(tenant, used=0, reserved=9, at=day2, user_id=bo, end="failed")  # no charge
    await api.job(tenant, used=1, reserved=4, at=day2, user_id=bo)  # charged what it made
    await api.job(other, used=7, at=day2, user_id=str(uuid.uuid4()))

    window = {"from": (TODAY - timedelta(days=7)).isoformat(), "to": TODAY.isoformat()}
    by_day = await api.usage(tenant, **window, group_by="day")
    assert by_day.status_code == 200, by_day.text
    body = by_day.json()
    assert body["group_by"] == "day"
    assert body["from"].startswith(window["from"])
    assert body["items"] == [
        {"key": day1.date().isoformat(), "credits": 6, "jobs": 2},
        {"key": day2.date().isoformat(), "credits": 9, "jobs": 3},
    ]

    by_user = (await api.usage(tenant, **window, group_by="user")).json()["items"]
    assert by_user == [
        {"key": ann, "credits": 7, "jobs": 2},
        {"key": None, "credits": 5, "jobs": 1},
        {"key": bo, "credits": 3, "jobs": 2},
    ]
    by_key = (await api.usage(tenant, **window, group_by="api_key")).json()["items"]
    assert by_key == [
        {"key": None, "credits": 10, "jobs": 4},
        {"key": key, "credits": 5, "jobs": 1},
    ]

    # a window that ends before day2 holds day1 only (times, not dates: `to` is exclusive)
    early = await api.usage(tenant, **{"from": day1.isoformat(), "to": day2.isoformat()})
    assert [i["key"] for i in early.json()["items"]] == [day1.date().isoformat()]

    # another tenant's admin sees only its own job; a member sees none of it
    assert (await api.usage(other, **window, group_by="user")).json()["items"][0]["credits"] == 7
    assert (await api.usage(tenant, role="member", **window)).status_code == 403
    # the default window: the last 30 days
    assert len((await api.usage(tenant)).json()["items"]) == 2


@BOTH
async def test_usage_as_csv(api):
    tenant = await api.tenant()
    user = str(uuid.uuid4())
    at = datetime.combine(TODAY, datetime.min.time(), UTC)
    await api.job(tenant, used=4, at=at, user_id=user)
    await api.job(tenant, used=3, at=at, api_key_id=str(uuid.uuid4()))
    window = {"from": TODAY.isoformat(), "to": TODAY.isoformat()}

    by_param = await api.usage(tenant, **window, group_by="user", format="csv")
    by_accept = await api.usage(tenant, headers={"accept": "text/csv"}, **window, group_by="user")
    for answer in (by_param, by_accept):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        assert list(csv.reader(io.StringIO(answer.text))) == [
            ["user", "credits", "jobs"],
            [user, "4", "1"],
            ["", "3", "1"],
        ]
    by_day = await api.usage(tenant, **window, format="csv")
    assert by_day.text.splitlines() == ["day,credits,jobs", f"{TODAY.isoformat()},7,2"]


async def test_bad_ranges_are_422_problems(api):
    tenant = await api.tenant()
    for params in (
        {"from": "2026-11-30", "to": "2026-11-01"},
        {"from": "2025-01-01", "to": "2026-11-01"},
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"group_by": "model"},
        {"format": "xml"},
    ):
        answer = await api.usage(tenant, **params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert answer.json()["status"] == 422
        assert answer.json()["errors"], params
    # a year and a day is the most
    fine = await api.usage(tenant, **{"from": "2025-11-01", "to": "2026-11-01"})
    assert fine.status_code == 200, fine.text
