"""Where a project sits in Keystone: its domain and its ancestors, cached per project.

Hierarchical image access (``[DEFAULT] hierarchical_image_access``) lets a member
entry cover a project subtree or a domain; deciding whether a caller is covered
needs the caller's project's parents and domain. They are read from Keystone
(``GET /v3/projects/{id}?parents_as_ids``) with glance's service credentials
(``[keystone_authtoken]``, loaded with keystoneauth as keystonemiddleware does)
and kept for ``hierarchical_access_cache_ttl`` seconds, so a list does not call
Keystone per image, nor a busy project per request.

When Keystone cannot answer, the caller is treated as covered by nothing but its
own project (direct memberships keep working; subtree and domain shares are not
seen) and the failure is logged; a failure is not cached.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading, plugin
from keystoneauth1 import session as ks_session
from oslo_config import cfg
from oslo_log import log as logging

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
GROUP = "keystone_authtoken"


@dataclass(frozen=True)
class Lineage:
    """A project's domain and the ids of its ancestors (parent first, no domain)."""

    project_id: str
    domain_id: str | None
    ancestors: tuple[str, ...] = ()


def enabled() -> bool:
    """Whether hierarchical image access is on."""
    return bool(CONF.hierarchical_image_access)


def _ancestor_ids(parents: object) -> list[str]:
    """The ids of Keystone's nested ``parents_as_ids`` dict, nearest first."""
    found: list[str] = []
    level = parents if isinstance(parents, dict) else None
    while level:
        project_id, level = next(iter(level.items()))
        found.append(project_id)
        level = level if isinstance(level, dict) else None
    return found


def _session(group, auth) -> ks_session.Session:
    """A session with keystonemiddleware's TLS and timeout options (its group has
    not keystoneauth's session options)."""
    verify: bool | str = False if group.insecure else (group.cafile or True)
    cert = (group.certfile, group.keyfile) if group.certfile else None
    return ks_session.Session(auth=auth, verify=verify, cert=cert,
                              timeout=group.http_connect_timeout)


class KeystoneProjects:
    """Reads projects from Keystone with the service credentials; one session."""

    def __init__(self, conf: cfg.ConfigOpts = CONF) -> None:
        self._conf = conf
        self._session = None
        self._url: str | None = None
        self._lock = threading.Lock()

    def _identity(self):
        with self._lock:
            if self._session is None:
                auth = loading.load_auth_from_conf_options(self._conf, GROUP)
                session = _session(self._conf[GROUP], auth)
                url = auth.get_endpoint(session, interface=plugin.AUTH_INTERFACE)
                url = url.rstrip("/")
                self._url = url if url.endswith("/v3") else url + "/v3"
                self._session = session
            return self._session, self._url

    def lineage(self, project_id: str) -> Lineage:
        """The project's domain and ancestors, as Keystone has them now."""
        session, url = self._identity()
        response = session.get(f"{url}/projects/{project_id}?parents_as_ids",
                               raise_exc=True)
        project = response.json()["project"]
        domain_id = project.get("domain_id")
        ancestors = [pid for pid in _ancestor_ids(project.get("parents"))
                     if pid != domain_id]
        return Lineage(project_id, domain_id, tuple(ancestors))


class LineageCache:
    """Lineages per project for ``ttl`` seconds (0: never reused)."""

    def __init__(self, source: KeystoneProjects, ttl: float,
                 clock=time.monotonic) -> None:
        self._source = source
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Lineage]] = {}
        self._lock = threading.Lock()

    def get(self, project_id: str) -> Lineage:
        """The cached lineage, or Keystone's; a bare one when Keystone fails."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(project_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        try:
            found = self._source.lineage(project_id)
        except (ks_exceptions.ClientException, ValueError, KeyError) as err:
            LOG.warning("Cannot read project %s from Keystone (hierarchical image "
                        "access sees only its direct shares): %s", project_id, err)
            return Lineage(project_id, None)
        if self._ttl > 0:
            with self._lock:
                if len(self._entries) > 10000:  # bound the memory of many projects
                    self._entries.clear()
                self._entries[project_id] = (now + self._ttl, found)
        return found


_CACHES: dict[str, LineageCache] = {}  # the process's one cache, built on first use
_CACHE_LOCK = threading.Lock()


def lineage_of(project_id: str) -> Lineage:
    """The process-wide cached lineage of ``project_id``."""
    with _CACHE_LOCK:
        cache = _CACHES.get("keystone")
        if cache is None:
            cache = _CACHES["keystone"] = LineageCache(
                KeystoneProjects(), CONF.hierarchical_access_cache_ttl)
    return cache.get(project_id)


def covering_ids(lineage: Lineage | None) -> tuple[tuple[str, ...], str | None]:
    """(projects whose subtree entries cover the caller, the caller's domain)."""
    if lineage is None:
        return (), None
    return (lineage.project_id, *lineage.ancestors), lineage.domain_id
