"""Render's use cases: what routes, consumers and the background loops call.

- `Jobs` (`jobs/`): accept, cancel and drive a job through its states; sweep lost ones.
- `Dispatcher` (`dispatcher.py`): the background loop sending queued jobs to the work
  queue in weighted fair order.
- `entitlements.py`: the tenant's entitlements projection and the purge of a deleted
  tenant, applied inside the consumer's transaction.
"""

from .dispatcher import Dispatcher, queue_positions, work_item
from .jobs import Jobs

__all__ = ["Dispatcher", "Jobs", "queue_positions", "work_item"]
