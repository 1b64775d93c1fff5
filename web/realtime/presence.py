"""Which live connections a user has, across every app process, so logout can close all of them."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

KEY = "matchmaker:sockets:user:{user_id}"
TTL_SECONDS = 7 * 24 * 3600  # a crashed process never removes its entries; let them expire


class Presence:
    """Records socket ids per user in Redis when the Socket.IO message queue is Redis; otherwise the
    Socket.IO server's own (single-process) rooms are the record."""

    def __init__(self, redis_url: str | None) -> None:
        self._redis: Any = None
        if redis_url and redis_url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            self._redis = redis.Redis.from_url(redis_url)

    def connected(self, user_id: int, sid: str) -> None:
        if self._redis is not None:
            key = KEY.format(user_id=user_id)
            self._redis.sadd(key, sid)
            self._redis.expire(key, TTL_SECONDS)

    def disconnected(self, user_id: int, sid: str) -> None:
        if self._redis is not None:
            self._redis.srem(KEY.format(user_id=user_id), sid)

    def sids(self, user_id: int) -> list[str] | None:
        """Every process's socket ids of the user, or None when only this process can know."""
        if self._redis is None:
            return None
        return sorted(s.decode() for s in self._redis.smembers(KEY.format(user_id=user_id)))


def init_app(app: Flask) -> None:
    app.extensions["matchmaker.presence"] = Presence(app.config.get("SOCKETIO_MESSAGE_QUEUE"))


def presence() -> Presence:
    found: Presence = current_app.extensions["matchmaker.presence"]
    return found
