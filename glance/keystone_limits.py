"""Keystone unified limits (``[DEFAULT] use_keystone_limits``), read with oslo.limit.

Four limits, registered in Keystone for the image service's endpoint and
enforced per project as Glance 33 does:

* ``image_size_total`` (MiB): data the project's images hold in the stores;
* ``image_stage_total`` (MiB): data the project holds in the staging area;
* ``image_count_total``: the project's images (not killed or deleted);
* ``image_count_uploading``: the project's images in an upload or import.

A check adds a delta to the project's usage and refuses (413, oslo.limit's
message) when the sum is over the limit; a limit not registered counts as 0. A
size known before the body is read is checked up front (in whole MiB, as
Glance); beyond Glance, a body of unknown size is counted as it streams and
stopped at the first byte past the limit. Keystone unreachable or the
``[oslo_limit]`` endpoint not found is 503.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Collection
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions
from oslo_config import cfg
from oslo_limit import exception as limit_exceptions
from oslo_limit import limit
from oslo_log import log as logging

from glance import exception, quota
from glance.db.sqlalchemy import usage_api

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
MIB = 1024 * 1024
SIZE_TOTAL = "image_size_total"
STAGE_TOTAL = "image_stage_total"
COUNT_TOTAL = "image_count_total"
COUNT_UPLOADING = "image_count_uploading"
RESOURCES = (SIZE_TOTAL, STAGE_TOTAL, COUNT_TOTAL, COUNT_UPLOADING)


def enabled() -> bool:
    """Whether the Keystone limits are enforced."""
    return bool(CONF.use_keystone_limits)


def _unavailable(err: Exception) -> exception.LimitsUnavailable:
    LOG.error("Keystone unified limits cannot be read (check [oslo_limit]): %s", err)
    return exception.LimitsUnavailable(reason=str(err) or type(err).__name__)


class ProjectLimits:
    """One project's limits, for the checks of one request."""

    def __init__(self, project_id: str | None, enforcer: Callable[[], Any],
                 bytes_used: dict[str, Callable[[], int]]) -> None:
        self.project_id = project_id
        self._enforcer = enforcer
        self._bytes_used = bytes_used

    def _call(self, action: Callable[[Any], Any]) -> Any:
        """Run ``action(enforcer)``, with oslo.limit's errors as glance's."""
        try:
            return action(self._enforcer())
        except limit_exceptions.ProjectOverLimit as err:
            LOG.info("Project %s: %s", self.project_id, err)
            raise exception.ProjectOverLimit(body=str(err)) from None
        except (limit_exceptions.SessionInitError, ks_exceptions.ClientException,
                sdk_exceptions.SDKException, ValueError) as err:
            raise _unavailable(err) from None

    def enforce(self, name: str, delta: int = 0) -> None:
        """413 when the project's usage of ``name`` plus ``delta`` is over its limit."""
        self._call(lambda enforcer: enforcer.enforce(self.project_id, {name: delta}))

    def enforce_bytes(self, name: str, size: int | None) -> None:
        """``enforce`` for a size in bytes (counted in whole MiB, as Glance)."""
        self.enforce(name, (size or 0) // MIB)

    def report(self) -> dict[str, dict[str, int]]:
        """Each limit and the usage it counts."""
        found = self._call(lambda enforcer: enforcer.calculate_usage(
            self.project_id, list(RESOURCES)))
        return {name: {"usage": int(value.usage), "limit": int(value.limit)}
                for name, value in found.items()}

    def check_size(self, name: str, size: int | None) -> quota.ProjectBudget | None:
        """Check a size limit for ``size`` more bytes (None: unknown) in whole MiB, as
        Glance, then in bytes; returns what the limit still allows (None: unlimited)."""
        self.enforce_bytes(name, size)
        budget = self.budget(name)
        if budget is not None and size is not None and size > budget.remaining:
            raise budget.error(size)
        return budget

    def add_budget(self, limit: quota.UploadLimit, name: str, size: int | None) -> None:
        """``check_size`` before an upload's body is read, and what the limit still
        allows added to ``limit``, which stops the stream past it."""
        budget = self.check_size(name, size)
        if budget is not None:
            limit.budgets.append(budget)

    def limit(self, name: str) -> int:
        """The project's limit of ``name`` (-1: unlimited)."""
        limits = self._call(lambda enforcer: enforcer.get_project_limits(
            self.project_id, [name]))
        return int(dict(limits).get(name, 0))

    def budget(self, name: str) -> quota.ProjectBudget | None:
        """What a size limit (MiB) still allows in bytes, for a stream of unknown
        size; None when unlimited."""
        maximum = self.limit(name)
        if maximum < 0:
            return None
        used = self._bytes_used[name]()

        def error(received: int) -> exception.ProjectOverLimit:
            return exception.ProjectOverLimit(body=(
                f"Project {self.project_id} is over a limit for [Resource {name} is "
                f"over limit of {maximum} due to current usage {used // MIB} and delta "
                f"{math.ceil(received / MIB)}]"))
        return quota.ProjectBudget(remaining=maximum * MIB - used, error=error)


class KeystoneLimits:
    """The four limits over a usage repository (glance/db/sqlalchemy/usage_api.py)."""

    def __init__(self, usage=usage_api) -> None:
        self.db = usage
        self._enforcer: Any = None
        self._lock = threading.Lock()

    def _usage(self, project_id: str | None, names: Collection[str]) -> dict[str, int]:
        """oslo.limit's usage callback: the project's usage of each limit, in its unit."""
        db = self.db
        counters = {SIZE_TOTAL: lambda: db.storage_bytes(project_id) // MIB,
                    STAGE_TOTAL: lambda: db.staging_bytes(project_id) // MIB,
                    COUNT_TOTAL: lambda: db.image_count(project_id),
                    COUNT_UPLOADING: lambda: db.uploading_count(project_id)}
        return {name: counters[name]() for name in names}

    def enforcer(self) -> Any:
        """oslo.limit's enforcer, built on first use and kept by the process: the
        enforcement model and this service's endpoint are read once, the limits at
        every check (``cache=False``), so a limit changed in Keystone applies to the
        next call."""
        with self._lock:
            if self._enforcer is None:
                self._enforcer = limit.Enforcer(self._usage, cache=False)
            return self._enforcer

    def project(self, project_id: str | None) -> ProjectLimits | None:
        """The limits of ``project_id``; None when the Keystone limits are off."""
        if not enabled():
            return None
        db = self.db
        bytes_used = {SIZE_TOTAL: lambda: db.storage_bytes(project_id),
                      STAGE_TOTAL: lambda: db.staging_bytes(project_id)}
        return ProjectLimits(project_id, self.enforcer, bytes_used)

    def enforce(self, project_id: str | None, name: str, delta: int = 0) -> None:
        """One check (no-op when the limits are off)."""
        limits = self.project(project_id)
        if limits is not None:
            limits.enforce(name, delta)

    def usage(self, project_id: str | None) -> dict[str, dict[str, int]]:
        """``GET /v2/info/usage``: each limit and the usage it counts; {} when off."""
        limits = self.project(project_id)
        if limits is None:
            return {}
        return limits.report()
