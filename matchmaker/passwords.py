"""Password hashing with scrypt from the standard library; the cost is stored with each hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# OWASP's 2024 floor for scrypt is N=2**17, r=8, p=1; 2**15 with r=8 costs ~32 MiB and ~60 ms here,
# which keeps login snappy on a 2-core host. Raise it with the hardware: old hashes stay valid.
DEFAULT_N = 2**15
R, P = 8, 1


def hash_password(password: str, *, n: int = DEFAULT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=R, p=P, maxmem=256 * 1024 * 1024)
    b64 = base64.b64encode
    return f"scrypt${n}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        actual = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), maxmem=256 * 1024 * 1024
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def check_strength(password: str) -> str | None:
    """Return why a new password is unacceptable, or None."""
    if len(password) < 10:
        return "too_short"
    if len(password) > 256:
        return "too_long"
    return None
