"""moto's server, the embedded AWS emulator, with one performance fix.

    python -m pingvas_kit.dev.emulator -H 127.0.0.1 -p 4566

moto 5.x rebuilds a queue's whole attribute dictionary on every SendMessage just to read
ContentBasedDeduplication, and two of those attributes (the approximate message counts)
scan every message in the queue. Sending therefore slows down as a queue fills (measured
here: 27 SendMessageBatch calls/s on an empty queue, 5/s at 500 messages), which made the
local stack crawl under any backlog. We replace the dictionary with a read-only mapping
that computes each attribute only when it is read; GetQueueAttributes still sees every
attribute, computed exactly as moto computes it. moto also lists its own package folder
on disk to route every request; that list is computed once. Everything else is moto's
own server.
If moto's internals change shape, the fix is skipped and moto runs as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..ports import wait_for_port


class _LazyQueueAttributes(Mapping):
    def __init__(self, queue: Any, to_attr: Any) -> None:
        self._queue = queue
        self._to_attr = to_attr
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        if queue.policy:
            names.append("Policy")
        if queue.redrive_policy:
            names.append("RedrivePolicy")
        self._names = names

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        if name == "Policy":
            return self._queue.policy
        if name == "RedrivePolicy":
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, self._to_attr(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def patch_moto() -> bool:
    try:
        from moto.core.utils import camelcase_to_underscores
        from moto.sqs.models import Queue, SQSBackend

        for name in ("BASE_ATTRIBUTES", "FIFO_ATTRIBUTES", "KMS_ATTRIBUTES", "attributes"):
            if not hasattr(Queue, name):
                return False
        if not hasattr(SQSBackend, "get_queue_attributes"):
            return False
    except ImportError:
        return False
    Queue.attributes = property(lambda q: _LazyQueueAttributes(q, camelcase_to_underscores))  # type: ignore[assignment]
    get_queue_attributes = SQSBackend.get_queue_attributes

    def get_queue_attributes_as_dict(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # responses serialise this one; give them the plain dict moto would have given
        return dict(get_queue_attributes(self, *args, **kwargs))

    SQSBackend.get_queue_attributes = get_queue_attributes_as_dict  # type: ignore[method-assign]

    # receive and delete scan the whole queue; make each scan cheap: one clock reading
    # per scan instead of two per message, one pass per delete instead of three
    from moto.core.utils import unix_time_millis

    if hasattr(Queue, "messages") and hasattr(Queue, "delete_message"):

        def visible_messages(queue: Any) -> list[Any]:
            now = unix_time_millis()
            return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]

        def delete_message(queue: Any, receipt_handle: str) -> None:
            if receipt_handle in queue.deleted_messages:
                return  # deleting twice is fine, as on AWS
            for i, message in enumerate(queue._messages):
                if receipt_handle in message.all_receipt_handles:
                    queue.pending_messages.discard(message)
                    queue.deleted_messages.update(message.all_receipt_handles)
                    # a new list, as moto does: other threads may be iterating the old one
                    queue._messages = queue._messages[:i] + queue._messages[i + 1 :]
                    return
            from moto.sqs.exceptions import ReceiptHandleIsInvalid

            raise ReceiptHandleIsInvalid()

        Queue.messages = property(visible_messages)  # type: ignore[assignment]  # moto patched in place
        Queue.delete_message = delete_message  # type: ignore[method-assign,assignment]  # moto patched in place

    # moto lists its package directory on disk on every request to route it; the
    # directory does not change while the server runs
    from moto import backends

    if callable(getattr(backends, "list_of_moto_modules", None)):
        modules = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = lambda: modules
    return True


def start_moto_server(port: int, log_path: Path | None = None) -> subprocess.Popen:
    """moto's real HTTP server in a child process (SNS, SQS, S3, SES...)."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "pingvas_kit.dev.emulator", "-H", "127.0.0.1", "-p", str(port)],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    wait_for_port(port, proc=proc)
    return proc


def main(argv: list[str] | None = None) -> None:
    if not patch_moto():
        print("pingvas emulator: moto's internals changed; running it unpatched", file=sys.stderr)
    from moto.server import main as moto_main  # noqa: PLC0415

    moto_main(argv)


if __name__ == "__main__":
    main()
