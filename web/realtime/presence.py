"""Which live connections a user or a token has, across every app process, so logout and token
revocation can close all of them."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

KEY = "matchmaker:sockets:{room}"
TTL_SECONDS = 7 * 24 * 3600  # a crashed process never removes its entries; let them expire


class Presence:
    """Records socket ids per owning room (``user:7``, ``token:3``) in Redis when the Socket.IO message
    queue is Redis; otherwise the Socket.IO server's own (single-process) rooms are the record."""

    def __init__(self, redis_url: str | None) -> None:
        self._redis: Any = None
        if redis_url and redis_url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            # A blocking pool: a burst of connects or disconnects waits its turn for a connection
            # instead of failing (the default pool raises once it holds 100), which would leave
            # stale records behind.
            pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=50, timeout=10)
            self._redis = redis.Redis(connection_pool=pool)

    def connected(self, room: str, sid: str) -> None:
        if self._redis is not None:
            key = KEY.format(room=room)
            self._redis.sadd(key, sid)
            self._redis.expire(key, TTL_SECONDS)

    def disconnected(self, room: str, sid: str) -> None:
        if self._redis is not None:
            self._redis.srem(KEY.format(room=room), sid)

    def sids(self, room: str) -> list[str] | None:
        """Every process's socket ids in the room, or None when only this process can know."""
        if self._redis is None:
            return None
        return sorted(s.decode() for s in self._redis.smembers(KEY.format(room=room)))


def init_app(app: Flask) -> None:
    app.extensions["matchmaker.presence"] = Presence(app.config.get("SOCKETIO_MESSAGE_QUEUE"))


def presence() -> Presence:
    found: Presence = current_app.extensions["matchmaker.presence"]
    return found
