"""Rules for background jobs that need no queue: which tick a scheduled run belongs to, its key, and how
long to wait before each retry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff: ``retries`` more attempts after the first, the first
    one ``first_delay`` seconds after a failure, each later wait ``factor`` times longer, none beyond
    ``max_delay``."""

    retries: int = 3
    first_delay: float = 30.0
    factor: float = 4.0
    max_delay: float = 3600.0

    def __post_init__(self) -> None:
        if self.retries < 0 or self.first_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError("retries and delays must not be negative, and the factor is at least 1")

    def delays(self) -> list[float]:
        """The wait before each retry, in order; as many as there are retries."""
        return [min(self.first_delay * self.factor**n, self.max_delay) for n in range(self.retries)]


def tick_of(at: datetime, every: float) -> int:
    """The number of the interval of ``every`` seconds (counted from the Unix epoch) that ``at`` falls in:
    every scheduler, whatever its clock phase, agrees on which run an instant belongs to."""
    if every <= 0:
        raise ValueError("the interval must be positive")
    if at.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
    return math.floor(at.timestamp() / every)


def scheduled_key(name: str, tick: int) -> str:
    """The key of one scheduled run: the same for every scheduler that sees that tick."""
    return f"{name}-{tick}"
