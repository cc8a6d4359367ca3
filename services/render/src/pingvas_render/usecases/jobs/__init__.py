"""Jobs: acceptance (entitlements, price, reservation), the state machine the workers drive
through the internal API, cancellation, and the sweeper for lost workers.

Every transition is a compare-and-set on the job's status inside one transaction with its
job event, its outbox event and its credit movement, so it happens exactly once however
often (or however concurrently) it is asked for. The rules each transition applies are in
`domain/jobs.py`. SSE streams are told after the commit.

- `_base.py`: the shared state, the queue positions, the transitions inside a transaction;
- `_accept.py`: what a caller asks (create, cancel, a deleted tenant's jobs);
- `_drive.py`: what a worker reports through the internal API, and the sweeper.
"""

from ._accept import Accepting
from ._drive import Driving


class Jobs(Accepting, Driving):
    """The job use cases: routes, consumers and the sweeper call its methods."""


__all__ = ["Jobs"]
