"""The search service starts with its database, bus, engine, health and metrics (see
services/conftest.py)."""

import pytest
from pingvas_search.app import create_app
from pingvas_search.settings import Settings


async def test_serves_health_readiness_metrics_and_problems(run_service):
    async with run_service(create_app, Settings) as service:
        await service.check_backbone()
        ready = (await service.client.get("/readyz")).json()
        assert ready["checks"]["engine"] == "ok"


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_migrates_its_own_database(run_service, db_backend):
    async with run_service(create_app, Settings, **db_backend) as service:
        await service.check_migrated()
        assert {"image_state", "tenant_directory"} <= await service.tables()


async def test_an_opensearch_it_cannot_reach_stops_start_up_without_leaking_the_url(run_service):
    # nothing listens on port 9: start-up fails (the orchestrator retries it), and the
    # error names no credentials from the URL
    settings_engine = {"engine": "opensearch", "opensearch_url": "http://user:hunter2@127.0.0.1:9"}
    with pytest.raises(Exception) as failed:
        async with run_service(create_app, Settings, **settings_engine):
            pass
    assert "hunter2" not in str(failed.value)
