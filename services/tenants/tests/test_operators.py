"""The platform operator role: granted and revoked with `pingvas-tenants operator`, carried in
the access token as `prl` from log-in and refresh, shown by /me, audited without a tenant."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from pingvas_tenants import cli
from pingvas_tenants.adapters.db import audit_log

OPERATOR_EMAIL = "staff@pingvas.example"
OTHER_EMAIL = "jiwoo.kim@haneul.example"


@pytest.fixture
def tenants_env(monkeypatch: pytest.MonkeyPatch):
    """Point the CLI's TENANTS_* settings at the database a running test service uses."""

    def point_at(settings) -> None:
        for key in [k for k in os.environ if k.startswith("TENANTS_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("TENANTS_VAR_DIR", str(settings.var_dir))
        if settings.database_url is not None:
            monkeypatch.setenv("TENANTS_DATABASE_URL", settings.database_url.get_secret_value())
            monkeypatch.setenv("TENANTS_DB_SCHEMA", settings.schema_name)

    return point_at


async def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    # the CLI runs its own event loop, as it does from a shell
    code = await asyncio.to_thread(cli.main, list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_granted_operators_get_the_role_at_log_in_and_lose_it_at_refresh(
    gateway_for, db_backend, tenants_env, capsys
):
    async with gateway_for(db_backend) as gw:
        tenants_env(gw.settings)
        staff = await gw.signup(OPERATOR_EMAIL, team="Pingvas Staff")
        other = await gw.signup(OTHER_EMAIL)
        assert gw.claims(staff)["prl"] == []
        me = (await gw.get("/api/v1/me", as_=gw.user(staff))).json()
        assert me["platform_roles"] == []

        code, out, _ = await run_cli(capsys, "operator", "grant", "Staff@Pingvas.example")
        assert code == 0 and "staff@pingvas.example is now an operator" in out

        # a fresh log-in carries it; the tenant role is untouched
        login = await gw.login(OPERATOR_EMAIL)
        assert login.status_code == 200, login.text
        claims = gw.claims(login.json())
        assert claims["prl"] == ["operator"] and claims["rol"] == ["owner"]
        me = (await gw.get("/api/v1/me", as_=gw.user(login.json()))).json()
        assert me["platform_roles"] == ["operator"] and me["role"] == "owner"
        # so does the session that began before the grant, at its next refresh
        r = await gw.post("/api/v1/auth/refresh", {"refresh_token": staff["refresh_token"]})
        assert r.status_code == 200 and gw.claims(r.json())["prl"] == ["operator"]
        # nobody else has it
        assert gw.claims((await gw.login(OTHER_EMAIL)).json())["prl"] == []
        me = (await gw.get("/api/v1/me", as_=gw.user(other))).json()
        assert me["platform_roles"] == []

        code, out, _ = await run_cli(capsys, "operator", "list", "--json")
        assert code == 0
        (listed,) = json.loads(out)
        assert (listed["email"], listed["user_id"]) == (OPERATOR_EMAIL, staff["user"]["id"])

        code, out, _ = await run_cli(capsys, "operator", "revoke", OPERATOR_EMAIL, "--by", "ops")
        assert code == 0 and "no longer an operator" in out
        r = await gw.post("/api/v1/auth/refresh", {"refresh_token": login.json()["refresh_token"]})
        assert r.status_code == 200
        assert gw.claims(r.json())["prl"] == []
        me = (await gw.get("/api/v1/me", as_=gw.user(r.json()))).json()
        assert me["platform_roles"] == []
        code, out, _ = await run_cli(capsys, "operator", "list")
        assert code == 0 and out.strip() == "no operators"

        # audited for the platform, not for the operator's team
        async with gw.db.sessionmaker() as session:
            rows = (
                await session.execute(
                    sa.select(audit_log)
                    .where(audit_log.c.action.like("platform_role.%"))
                    .order_by(audit_log.c.id)
                )
            ).all()
        assert [(r.action, r.tenant_id, r.target_id, r.actor_kind) for r in rows] == [
            ("platform_role.granted", None, staff["user"]["id"], "cli"),
            ("platform_role.revoked", None, staff["user"]["id"], "cli"),
        ]
        assert rows[1].actor_id == "ops" and rows[1].details == {"role": "operator"}
        team_log = (await gw.get("/api/v1/audit-log", as_=gw.user(staff))).json()["items"]
        assert not [e for e in team_log if e["action"].startswith("platform_role.")]


async def test_the_cli_says_what_it_did_and_exits_1_for_an_unknown_address(gw, tenants_env, capsys):
    tenants_env(gw.settings)
    await gw.signup(OPERATOR_EMAIL)

    code, out, err = await run_cli(capsys, "operator", "grant", "nobody@pingvas.example")
    assert code == 1 and out == ""
    assert "no account has the address 'nobody@pingvas.example'" in err
    code, _, err = await run_cli(capsys, "operator", "revoke", "nobody@pingvas.example")
    assert code == 1 and "no account" in err

    code, out, _ = await run_cli(capsys, "operator", "revoke", OPERATOR_EMAIL)
    assert code == 0 and "is not an operator; nothing changed" in out
    assert (await run_cli(capsys, "operator", "grant", OPERATOR_EMAIL))[0] == 0
    code, out, _ = await run_cli(capsys, "operator", "grant", OPERATOR_EMAIL)
    assert code == 0 and "is already an operator; nothing changed" in out
    # the no-ops wrote nothing to the audit log
    async with gw.db.sessionmaker() as session:
        actions = (
            await session.scalars(
                sa.select(audit_log.c.action).where(audit_log.c.action.like("platform_role.%"))
            )
        ).all()
    assert actions == ["platform_role.granted"]

    with pytest.raises(SystemExit) as usage:
        cli.main(["operator", "promote", OPERATOR_EMAIL])
    assert usage.value.code == 2


def test_the_cli_runs_as_a_program_on_the_local_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTS_")}
    env["TENANTS_VAR_DIR"] = str(tmp_path)
    script = Path(sys.executable).with_name("pingvas-tenants")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pingvas_tenants.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=60
        )

    listed = run("operator", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert (tmp_path / "tenants.db").is_file()  # migrated on first use
    unknown = run("operator", "grant", "nobody@pingvas.example")
    assert unknown.returncode == 1 and "no account" in unknown.stderr
