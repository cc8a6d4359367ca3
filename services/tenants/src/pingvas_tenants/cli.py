"""`pingvas-tenants`: the tenants service's command line.

    pingvas-tenants operator grant EMAIL [--by WHO]
    pingvas-tenants operator revoke EMAIL [--by WHO]
    pingvas-tenants operator list [--json]

The platform operator role belongs to the platform's own staff, not to a tenant: it goes into
the person's access token as `prl: ["operator"]` (docs/identity.md) and lets them use the
operator routes, such as search's `GET /api/v1/admin/tenants`. A grant takes effect at the
person's next log-in or token refresh; a revocation at the next refresh, so within one
access-token lifetime (TENANTS_ACCESS_TOKEN_TTL, 15 minutes by default). Both are written to
the audit log as `platform_role.granted` / `platform_role.revoked`, with no tenant (no
tenant's admins see them).

It works on the tenants service's own database, found as the service finds it (TENANTS_*
variables: TENANTS_DATABASE_URL for Postgres, else TENANTS_VAR_DIR/tenants.db; default
var/tenants.db, the local run's), migrated first if it needs to be.

Exit status: 0 done (also when there was nothing to change), 1 no account has that address,
2 wrong usage."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pingvas_kit.identity import OPERATOR
from pingvas_kit.logging import configure_logging
from pingvas_kit.migrations import open_database

from .adapters import repository as repo
from .settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
PROG = "pingvas-tenants"


class UnknownAccount(Exception):
    pass


async def set_operator(settings: Settings, email: str, *, grant: bool, by: str | None) -> str:
    """Grant or take away the operator role; what happened, in words."""
    db = await open_database(settings, MIGRATIONS)
    try:
        async with db.transaction() as session:
            user = await repo.find_user_by_email(session, email.strip())
            if user is None:
                raise UnknownAccount(f"no account has the address {email!r}")
            has_it = user.platform_role == OPERATOR
            if grant == has_it:
                state = "already" if grant else "not"
                return f"{user.email} is {state} an operator; nothing changed"
            await repo.update_user(
                session, user_id=user.id, platform_role=OPERATOR if grant else None
            )
            await repo.audit(
                session,
                tenant_id=None,
                action="platform_role.granted" if grant else "platform_role.revoked",
                actor_id=by[:64] if by else None,
                actor_kind="cli",
                target_type="user",
                target_id=user.id,
                details={"role": OPERATOR},
            )
    finally:
        await db.dispose()
    if grant:
        return f"{user.email} is now an operator, from their next log-in or token refresh"
    return f"{user.email} is no longer an operator, from their next token refresh"


async def list_operators(settings: Settings) -> list[dict[str, str]]:
    db = await open_database(settings, MIGRATIONS)
    try:
        async with db.sessionmaker() as session:
            rows = await repo.users_with_platform_role(session, role=OPERATOR)
    finally:
        await db.dispose()
    return [{"user_id": r.id, "email": r.email, "name": r.name} for r in rows]


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)
    operator = commands.add_parser("operator", help="the platform operator role (staff)")
    actions = operator.add_subparsers(dest="action", required=True)
    for action, words in (
        ("grant", "make the account with this address a platform operator"),
        ("revoke", "take the platform operator role away"),
    ):
        sub = actions.add_parser(action, help=words)
        sub.add_argument("email")
        sub.add_argument("--by", default=_user(), help="who does it, for the audit log ($USER)")
    listing = actions.add_parser("list", help="the platform operators, by address")
    listing.add_argument("--json", action="store_true")
    return parser


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        operators = await list_operators(settings)
        if args.json:
            print(json.dumps(operators, ensure_ascii=False, indent=2))
        elif not operators:
            print("no operators")
        else:
            for o in operators:
                print(f"{o['email']}\t{o['name']}\t{o['user_id']}")
        return 0
    print(await set_operator(settings, args.email, grant=args.action == "grant", by=args.by))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(
        Settings.service_name, level="INFO" if args.verbose else "WARNING", json=False
    )
    try:
        return asyncio.run(_run(args, Settings()))
    except UnknownAccount as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
