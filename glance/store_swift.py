"""What glance adds to glance_store's swift driver: byte-range reads and segment sizes.

glance_store's swift driver reads an object from its start only (no READ_RANDOM),
so a Range request would need the whole image; here a range is one Swift GET with
a ``Range`` header, through the driver's own connection manager (single-tenant:
the service user's Keystone login; multi-tenant: the caller's token).

Its segmented upload of a known size sends every segment, the last one too, with
``Content-Length`` = the chunk size, so Swift waits for bytes that never come
whenever the size is not a multiple of the chunk size. Large uploads are handed
to it as "size unknown" instead (each segment chunked): the size is still checked,
by glance's reader, against the request's Content-Length.
"""

import os
import threading
from collections.abc import Iterator
from typing import Any

from glance_store import exceptions as store_exc
from glance_store import location as store_location
from glance_store._drivers.swift import store as swift_store
from oslo_config import cfg

CONF = cfg.CONF
READ_CHUNK = 65536


def is_swift(driver: Any) -> bool:
    """Whether ``driver`` is glance_store's swift driver (single- or multi-tenant)."""
    return isinstance(driver, swift_store.BaseStore)


_CLIENTS: dict[tuple, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _shared_init_client(self, location, context=None):
    """SingleTenantStore.init_client, once per credentials for the process."""
    key = (location.swift_url, location.user, location.key,
           getattr(location, "application_credential_id", None),
           self.user_domain_id, self.user_domain_name, self.project_domain_id,
           self.project_domain_name)
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = _ORIGINAL_INIT_CLIENT(self, location, context=context)
        return _CLIENTS[key]


def _shared_get_connection(self, location, context=None):
    """SingleTenantStore.get_connection on the shared session's token."""
    session = self.init_client(location, context).session
    url = self.conf_endpoint or session.get_endpoint(
        service_type=self.service_type, interface=self.endpoint_type,
        region_name=self.region)
    return self.get_store_connection(session.get_token(), url)


_ORIGINAL_INIT_CLIENT = swift_store.SingleTenantStore.init_client


def _after_fork() -> None:
    """A forked worker logs in itself: a session's pooled connections are not shared."""
    global _CLIENTS_LOCK  # noqa: PLW0603 - a lock held at fork time stays held in the child
    _CLIENTS_LOCK = threading.Lock()
    _CLIENTS.clear()


os.register_at_fork(after_in_child=_after_fork)


def share_logins() -> None:
    """Make single-tenant swift stores log in to Keystone once, not per operation.

    glance_store's driver (re-created for every operation: it is not
    DRIVER_REUSABLE) builds a new keystoneauth session, one password login, for
    every add, get and delete, and swiftclient logs in again for deletes and
    sizes; Swift's authtoken then validates each new token too. Here one session
    per credentials is kept for the process and reused (keystoneauth logs in again
    by itself when the token nears its expiry). Idempotent. The multi-tenant
    driver, which acts with the caller's token, is left alone.
    """
    swift_store.SingleTenantStore.init_client = _shared_init_client
    swift_store.SingleTenantStore.get_connection = _shared_get_connection


def add_size(driver: Any, size: int | None) -> int:
    """The size to give the swift driver's ``add``: 0 (unknown) when it would segment."""
    if not size or size >= driver.large_object_size:
        return 0
    return size


def range_header(offset: int, length: int | None) -> str:
    """``bytes=offset-`` or ``bytes=offset-last`` for ``length`` bytes from ``offset``."""
    if offset < 0 or (length is not None and length <= 0):
        raise ValueError(f"no such range: offset {offset}, length {length}")
    if length is None:
        return f"bytes={offset}-"
    return f"bytes={offset}-{offset + length - 1}"


def ranged_get(driver: Any, url: str, backend: str | None, offset: int,
               length: int | None, context=None) -> Iterator[bytes]:
    """``length`` bytes (or the rest) of the object at ``url`` from ``offset``."""
    if backend:
        loc = store_location.get_location_from_uri_and_backend(url, backend, conf=CONF)
    else:
        loc = store_location.get_location_from_uri(url, conf=CONF)
    where = loc.store_location
    with driver.get_manager(where, context) as manager:
        try:
            _headers, body = manager.get_connection().get_object(
                where.container, where.obj, resp_chunk_size=READ_CHUNK,
                headers={"Range": range_header(offset, length)})
        except swift_store.swiftclient.ClientException as err:
            if err.http_status == 404:
                raise store_exc.NotFound(message=f"Swift has no object {where.obj}") \
                    from err
            raise store_exc.BackendException(f"Swift range read failed: {err}") from err
    return iter(body)
