"""ULIDs: 128-bit ids whose 26-character Crockford base32 form sorts by creation time.

Pure encoding and decoding only. Generating one needs a clock and randomness, which live at the
edge (`arco.ids`). The first 10 characters encode milliseconds since the epoch, the last 16 are
random, so `ulid_floor(ms)` is the smallest ULID of a millisecond: the lower bound for listings.
"""

from __future__ import annotations

import hashlib
import re

from arco.domain.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
_PATTERN = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}\Z")
MAX_TIME_MS = (1 << 48) - 1
MAX_RANDOM = (1 << 80) - 1


def encode_ulid(time_ms: int, randomness: int) -> str:
    """Encode a millisecond timestamp and 80 random bits as a ULID string."""
    if not 0 <= time_ms <= MAX_TIME_MS:
        raise InvalidInput(f"ULID time out of range: {time_ms}")
    if not 0 <= randomness <= MAX_RANDOM:
        raise InvalidInput("ULID randomness out of range")
    value = (time_ms << 80) | randomness
    chars = []
    for _ in range(26):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_ulid(text: str) -> bool:
    """True when `text` is a canonical (uppercase) ULID string."""
    return isinstance(text, str) and bool(_PATTERN.match(text))


def validate_ulid(text: str, what: str = "ULID") -> str:
    """Return `text` if it is a canonical ULID, else raise InvalidInput."""
    if not is_ulid(text):
        raise InvalidInput(f"invalid {what} {text!r}: expected 26 uppercase Crockford base32 chars")
    return text


def ulid_time_ms(text: str) -> int:
    """The millisecond timestamp encoded in a ULID."""
    value = 0
    for ch in validate_ulid(text)[:10]:
        value = value * 32 + _DECODE[ch]
    return value


def ulid_floor(time_ms: int) -> str:
    """The smallest ULID of millisecond `time_ms` (clamped into range)."""
    return encode_ulid(min(max(time_ms, 0), MAX_TIME_MS), 0)


def deterministic_ulid(time_ms: int, seed: str) -> str:
    """A ULID for `time_ms` whose random part is derived from `seed` (e.g. an idempotency key).

    Two writers deciding the same event at the same logical time produce the same id.
    """
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return encode_ulid(min(max(time_ms, 0), MAX_TIME_MS), int.from_bytes(digest[:10], "big"))
