"""Child process for test_exactly_once: relays the outbox and dies mid-batch (SIGKILL)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from exo_support import DyingBus, make_settings, outbox, topology_for

from pingvas_kit.bus import make_bus
from pingvas_kit.db import Database
from pingvas_kit.outbox import OutboxRelay


async def main(config: dict, prefix: str, die_after: int, batch_size: int) -> None:
    settings = make_settings(config)
    db = Database(settings)
    bus = make_bus(settings, topology_for(prefix))
    await bus.start()
    relay = OutboxRelay(
        db, DyingBus(bus, die_after), outbox, service="producer", batch_size=batch_size
    )
    while await relay.relay_once():
        pass
    raise SystemExit("relay finished without dying")


if __name__ == "__main__":
    cfg = json.loads(sys.argv[1])
    asyncio.run(main(cfg, sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
