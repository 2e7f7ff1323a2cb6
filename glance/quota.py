"""Image data limits: ``[DEFAULT] image_size_cap`` and ``user_storage_quota``, and
the byte budget a Keystone unified limit leaves (glance/keystone_limits.py).

The service asks for the byte budget of an upload before it starts (``upload_limit``)
and enforces it on the stream (``LimitedStream``); a known Content-Length is checked
up front.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from oslo_config import cfg

from glance import exception

CONF = cfg.CONF
_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
_QUOTA_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?B?)\s*$", re.IGNORECASE)


def parse_size(value: str) -> int:
    """Bytes in a quota string such as ``0``, ``512MB`` or ``20GB``."""
    match = _QUOTA_RE.match(str(value))
    if match is None:
        raise ValueError(f"Invalid storage quota: {value!r}")
    number, unit = match.groups()
    return int(number) * _UNITS[unit.upper().rstrip("B")]


def storage_quota() -> int:
    """``user_storage_quota`` in bytes; 0 = unlimited (and under Keystone unified
    limits, which replace it, as in Glance)."""
    if CONF.use_keystone_limits:
        return 0
    return parse_size(CONF.user_storage_quota)


@dataclass
class ProjectBudget:
    """Bytes a project limit still allows, and the error going over it raises
    (called with the bytes the upload brought)."""

    remaining: int
    error: Callable[[int], Exception]


@dataclass
class UploadLimit:
    """How many bytes an upload may bring, and which error going over raises."""

    cap: int
    quota_remaining: int | None  # None: no quota
    budgets: list[ProjectBudget] = field(default_factory=list)

    def check(self, size: int) -> None:
        """Raise 413 when ``size`` bytes would exceed the quota, a budget or the cap."""
        if self.quota_remaining is not None and size > self.quota_remaining:
            raise exception.StorageQuotaFull(size=size, remaining=max(self.quota_remaining, 0))
        for budget in self.budgets:
            if size > budget.remaining:
                raise budget.error(size)
        if size > self.cap:
            raise exception.ImageSizeLimitExceeded()

    @property
    def maximum(self) -> int:
        limits = [self.cap] + [max(b.remaining, 0) for b in self.budgets]
        if self.quota_remaining is not None:
            limits.append(max(self.quota_remaining, 0))
        return min(limits)


def upload_limit(used_by_owner: int | None) -> UploadLimit:
    """The limit for an upload by an owner already using ``used_by_owner`` bytes
    (``user_storage_quota`` is not applied under Keystone unified limits)."""
    quota = storage_quota()
    remaining = None if quota <= 0 or used_by_owner is None else quota - used_by_owner
    return UploadLimit(cap=CONF.image_size_cap, quota_remaining=remaining)


class LimitedStream:
    """An upload's chunks as a store or the staging area reads them: counted, and
    stopped with the limit's 413 once they go past ``limit``.

    An error the server raises while reading the body (a client that went away)
    becomes ``ClientDisconnected``; glance's own errors pass through unchanged.
    """

    def __init__(self, chunks: Iterable[bytes], limit: UploadLimit) -> None:
        self._chunks = chunks
        self._limit = limit
        self.received = 0

    def __iter__(self) -> Iterator[bytes]:
        maximum = self._limit.maximum
        chunks = iter(self._chunks)
        while True:
            try:
                chunk = next(chunks, None)
            except exception.GlanceException:
                raise
            except Exception as err:  # noqa: BLE001 - whatever the server raises
                raise exception.ClientDisconnected() from err
            if chunk is None:
                return
            self.received += len(chunk)
            if self.received > maximum:
                self._limit.check(self.received)
            yield chunk
