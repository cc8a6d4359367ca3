"""The billing service starts with its database, bus, health and metrics (see services/conftest.py)."""

import pytest
from pingvas_billing.app import create_app
from pingvas_billing.settings import Settings


async def test_serves_health_readiness_metrics_and_problems(run_service):
    async with run_service(create_app, Settings) as service:
        await service.check_backbone()


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_migrates_its_own_database(run_service, db_backend):
    async with run_service(create_app, Settings, **db_backend) as service:
        await service.check_migrated()
