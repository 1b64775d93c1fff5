"""The Redis message queue between app instances, with one addition: after a gap, clients are told to
resync.

While Redis is down, an instance's events still reach its own clients (Socket.IO emits locally first)
but never reach the clients of the other instances, and nothing replays them later. So when an
instance's subscription comes back after it was lost, it tells every client connected to it to
``resync``: the page reconnects, which replays its missed notifications and re-reads what it shows.
An instance whose publishing failed does the same for everybody once a publish succeeds again, for the
case where only its own link to Redis broke.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import socketio

log = logging.getLogger(__name__)

EVENT = "resync"
# python-socketio's own listener backs off up to a minute; a page should not stay stale that long.
LONGEST_RETRY_S = 2.0


class ResyncingRedisManager(socketio.RedisManager):  # type: ignore[misc]
    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._publish_failed = False
        self._publish_lock = threading.Lock()
        self.gaps = 0  # subscriptions restored after a loss (for tests and metrics)

    def resync_message(self) -> dict[str, Any]:
        return {
            "method": "emit",
            "event": EVENT,
            "data": [{"at": datetime.now(UTC).isoformat()}],
            "binary": False,
            "namespace": "/",
            "room": None,
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
        }

    def tell_local_clients(self) -> None:
        """Ask every client of this instance to resync (they missed what others published)."""
        self._handle_emit(self.resync_message())

    def _publish(self, data: Any) -> Any:
        sent = super()._publish(data)
        with self._publish_lock:
            if sent is None:
                self._publish_failed = True
                return None
            if not self._publish_failed:
                return sent
            self._publish_failed = False
        log.warning("publishing to the message queue works again; asking every client to resync")
        return super()._publish(self.resync_message())

    def _redis_listen_with_retries(self) -> Iterator[dict[str, Any]]:
        retry_s = 0.1
        lost = False
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                if lost:
                    self.gaps += 1
                    log.warning("subscribed to the message queue again; asking local clients to resync")
                    self.tell_local_clients()
                    lost = False
                retry_s = 0.1
                yield from self.pubsub.listen()
            except Exception as exc:  # any failure of the link means: retry, then resync
                log.error("lost the message queue (%s); retrying in %.1f s", exc, retry_s)
                lost = True
                time.sleep(retry_s)
                retry_s = min(retry_s * 2, LONGEST_RETRY_S)
