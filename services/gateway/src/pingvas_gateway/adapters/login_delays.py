"""Log-in attempts per account, kept in a Litestar store (Redis, or in process), with the
addresses each account last logged in from; the wait itself is domain/limits.py's rule."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time

from litestar.stores.base import Store

from ..domain.limits import login_delay


class LoginDelays:
    """Log-in attempts per account (its normalised address, stored as a SHA-256), counted
    from every IP. An attempt is counted before it is forwarded (so a burst sent at once
    cannot all slip through before the first answer) and a success clears the count; the
    count is forgotten `window` seconds after the last attempt. Attempts from an IP the
    account last logged in from (`KNOWN_IPS` of them, for `KNOWN_IP_TTL`) neither wait
    nor count. In process, one lock makes the read and write of a count one step; with
    Redis, replicas may each let one attempt through at the same instant, no more."""

    KNOWN_IPS = 5
    KNOWN_IP_TTL = 30 * 24 * 3600

    def __init__(
        self, store: Store, *, threshold: int, initial: float, cap: float, window: int
    ) -> None:
        self.store = store
        self.threshold = threshold
        self.initial = initial
        self.cap = cap
        self.window = window
        self._lock = asyncio.Lock()

    @staticmethod
    def _key(account: str) -> str:
        return hashlib.sha256(account.encode()).hexdigest()

    @staticmethod
    def _ip(ip: str) -> str:
        return hashlib.sha256(b"ip:" + ip.encode()).hexdigest()[:32]

    async def _known_ips(self, account: str) -> list[str]:
        raw = await self.store.get("known:" + self._key(account))
        return list(json.loads(raw)) if raw else []

    async def attempt(self, account: str, ip: str = "") -> float:
        """0 if the attempt may go on (and it is counted); else the seconds left to wait."""
        key = self._key(account)
        if ip and self._ip(ip) in await self._known_ips(account):
            return 0.0
        async with self._lock:
            raw = await self.store.get(key)
            record = json.loads(raw) if raw else {}
            now = time.time()
            until = float(record.get("until", 0))
            if until > now:
                return until - now
            attempts = int(record.get("n", 0)) + 1
            wait = login_delay(
                attempts, threshold=self.threshold, initial=self.initial, cap=self.cap
            )
            await self.store.set(
                key,
                json.dumps({"n": attempts, "until": now + wait if wait else 0}),
                expires_in=self.window + math.ceil(self.cap),
            )
            return 0.0

    async def succeeded(self, account: str, ip: str = "") -> None:
        await self.store.delete(self._key(account))
        if ip:
            known = [h for h in await self._known_ips(account) if h != self._ip(ip)]
            known = [self._ip(ip), *known][: self.KNOWN_IPS]
            await self.store.set(
                "known:" + self._key(account), json.dumps(known), expires_in=self.KNOWN_IP_TTL
            )
