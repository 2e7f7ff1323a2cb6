"""Thin adapter over the glance_store library: set up, add, get and delete image data.

Single-store (``[glance_store] stores``/``default_store``) and multi-store
(``[DEFAULT] enabled_backends``) deployments both work; every driver
glance_store has (file, http, rbd, swift, s3, cinder, vmware) is reached by
configuration. Store errors become glance exceptions here.

Data of the s3 store moves through glance/s3_store.py (parallel multipart uploads,
ranged reads); glance_store's s3 driver still owns its configuration and URLs.

Writing to the file store skips the driver's ``add`` and writes the file itself,
in the driver's own data directory and under the same URL the driver would
produce: the driver hashes md5 and the os_hash in the writing thread, which caps
an upload at one core's hashing speed, while the caller hashes on two other
threads. Reading and deleting still go through glance_store.
"""

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import glance_store
from glance_store import capabilities, multi_backend
from glance_store import exceptions as store_exc
from glance_store import location as store_location
from glance_store._drivers import filesystem
from oslo_config import cfg
from oslo_log import log as logging

from glance import exception, s3_store, store_rbd, store_swift
from glance import store_hashing as hashing
from glance.conf import store as store_conf

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
_initialized = False
_s3_drivers: dict[str | None, Any] = {}  # store id -> s3_store.Settings (None: not s3)


# -- set-up ------------------------------------------------------------------------------

def is_multi_store() -> bool:
    """Whether ``[DEFAULT] enabled_backends`` is in use."""
    return bool(CONF.enabled_backends)


def init() -> None:
    """Create and verify the configured stores (once per process)."""
    global _initialized  # noqa: PLW0603 - process-wide on purpose: glance_store is global
    if _initialized:
        return
    if is_multi_store():
        store_conf.register_backend_opts(CONF)
        multi_backend.create_multi_stores(CONF)
        multi_backend.verify_store()
    else:
        glance_store.create_stores(CONF)
        glance_store.verify_default_store()
    _check_s3_stores()
    if _has_swift_store():
        store_swift.share_logins()
    _initialized = True


def _check_s3_stores() -> None:
    """S3 credentials the endpoint refuses are a start-up error (glance/s3_store.py)."""
    if is_multi_store():
        found = [(backend, _driver(backend)) for backend in store_ids()]
    else:
        try:
            found = [("glance_store", glance_store.backend.get_store_from_scheme("s3"))]
        except store_exc.UnknownScheme:
            found = []
    for _section, driver in found:
        if s3_store.handles(driver):
            s3_store.check(driver)


def _has_swift_store() -> bool:
    if is_multi_store():
        return "swift" in (CONF.enabled_backends or {}).values()
    return "swift" in store_location.SCHEME_TO_CLS_MAP


def reset() -> None:
    """Forget the stores (tests that change the store configuration)."""
    global _initialized  # noqa: PLW0603 - process-wide on purpose: glance_store is global
    _initialized = False
    _s3_drivers.clear()
    s3_store.forget()
    store_location.SCHEME_TO_CLS_MAP.clear()
    store_location.SCHEME_TO_CLS_BACKEND_MAP.clear()


def store_ids() -> list[str]:
    """Store identifiers users may pick (multi-store), else an empty list."""
    return list(CONF.enabled_backends or {})


def weight(store_id: str | None) -> int:
    """``[<store>] weight`` of an enabled store (0 for unknown or no store)."""
    if not store_id or store_id not in (CONF.enabled_backends or {}):
        return 0
    return int(getattr(getattr(CONF, store_id, None), "weight", 0) or 0)


def by_weight(locations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Locations with the heaviest store first (stable: equal weights keep their
    order), as Glance orders them; unchanged without multi-store."""
    if not is_multi_store():
        return locations
    return sorted(locations, key=lambda loc: weight((loc.get("metadata") or {}).get("store")),
                  reverse=True)


def default_backend() -> str | None:
    """The multi-store default store id (None in single-store mode)."""
    return CONF.glance_store.default_backend if is_multi_store() else None


def _driver(backend: str | None):
    if is_multi_store():
        try:
            return multi_backend.get_store_from_store_identifier(backend)
        except store_exc.UnknownScheme as err:
            raise exception.UnknownStore(store=backend) from err
    return glance_store.backend.get_store_from_scheme(CONF.glance_store.default_store)


# -- add ---------------------------------------------------------------------------------

@dataclass
class StoredData:
    """Where the data went and what it hashed to."""

    url: str
    size: int
    checksum: str
    os_hash_value: str
    metadata: dict[str, Any] = field(default_factory=dict)


class _ChunkReader:
    """File-like ``read(n)`` over an iterator of chunks, for glance_store drivers.

    Linear in the data: the current chunk is sliced through a memoryview (never
    re-copied per read), and an empty chunk is skipped, not taken for the end.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return bytes(self._pending) + b"".join(self._chunks)
        parts: list[memoryview] = []
        wanted = size
        while wanted > 0:
            if not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = memoryview(chunk)
                continue
            part, self._pending = self._pending[:wanted], self._pending[wanted:]
            parts.append(part)
            wanted -= len(part)
        return b"".join(parts)


def _write_file(driver, image_id: str, chunks: Iterable[bytes], size: int | None,
                hashing_algo: str, backend: str | None) -> StoredData:
    datadir = driver._find_best_datadir(size or 0)
    path = os.path.join(datadir, str(image_id))
    hasher = hashing.ParallelHasher(hashing_algo)
    written = 0
    try:
        with open(path, "xb", buffering=0) as handle:
            for chunk in chunks:
                hasher.update(chunk)
                handle.write(chunk)
                written += len(chunk)
    except FileExistsError as err:
        hasher.finish()
        raise exception.Conflict(f"Image data for {image_id} already exists.") from err
    except BaseException as err:
        hasher.finish()
        _unlink(path)
        if isinstance(err, OSError) and err.errno in (27, 28):  # EFBIG, ENOSPC
            raise exception.StorageFull(reason=err.strerror) from err
        if isinstance(err, PermissionError):
            raise exception.StorageWriteDenied(reason=err.strerror) from err
        raise
    checksum, os_hash = hasher.finish()
    perm = driver.store_conf.filesystem_store_file_perm
    if perm > 0:
        try:
            os.chmod(path, int(str(perm), 8))
        except OSError:
            LOG.warning("Cannot set permissions %s on %s", perm, path)
    metadata = dict(driver._get_metadata(path) or {})
    if backend:
        metadata["store"] = backend
    return StoredData(f"file://{path}", written, checksum, os_hash, metadata)


def _write_rbd(driver, image_id: str, chunks: Iterable[bytes], size: int | None,
               hashing_algo: str, backend: str | None) -> StoredData:
    """RBD images through glance.store_rbd (pipelined writes), hashed on two threads."""
    hasher = hashing.ParallelHasher(hashing_algo)
    try:
        url, written = store_rbd.write(driver, str(image_id), chunks, size, hasher.update)
    except BaseException as err:
        hasher.finish()
        if isinstance(err, store_rbd.binding_errors()):
            raise exception.StoreFailure(reason=f"{type(err).__name__}: {err}") from err
        raise
    checksum, os_hash = hasher.finish()
    return StoredData(url, written, checksum, os_hash, {"store": backend} if backend else {})


def _rbd_driver(location: dict[str, Any]):
    """The rbd driver a ``rbd://`` location belongs to, else None."""
    if not location["url"].startswith("rbd://"):
        return None
    try:
        driver = (_driver(_backend_of(location)) if is_multi_store()
                  else glance_store.backend.get_store_from_uri(location["url"]))
    except (exception.UnknownStore, store_exc.GlanceStoreException):
        return None
    return driver if store_rbd.handles(driver) else None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        LOG.error("Cannot remove partial image data %s: %s", path, err)


def _write_s3(driver, image_id: str, chunks: Iterable[bytes], size: int | None,
              hashing_algo: str, backend: str | None) -> StoredData:
    hasher = hashing.ParallelHasher(hashing_algo)
    try:
        url, written = s3_store.add(s3_store.settings(driver), image_id,
                                    hashing.hashed(chunks, hasher), size)
    finally:
        checksum, os_hash = hasher.finish()
    return StoredData(url, written, checksum, os_hash, {"store": backend} if backend else {})


def add(image_id: str, chunks: Iterable[bytes], size: int | None, hashing_algo: str,
        backend: str | None = None, context=None) -> StoredData:
    """Store a stream of chunks; on any error nothing is left in the store.

    ``size`` is the expected size when known (None or 0 when not). Exceptions raised
    by ``chunks`` propagate unchanged after the partial data is removed.
    """
    backend = backend or default_backend()
    driver = _driver(backend)
    if isinstance(driver, filesystem.Store):
        return _write_file(driver, image_id, chunks, size, hashing_algo, backend)
    if s3_store.handles(driver):
        return _write_s3(driver, image_id, chunks, size, hashing_algo, backend)
    if store_rbd.handles(driver):
        return _write_rbd(driver, image_id, chunks, size, hashing_algo, backend)
    if store_swift.is_swift(driver):
        size = store_swift.add_size(driver, size)
    try:
        if is_multi_store():
            url, written, checksum, os_hash, metadata = multi_backend.add_with_multihash(
                CONF, image_id, _ChunkReader(chunks), size or 0, backend, hashing_algo,
                context=context)
        else:
            url, written, checksum, os_hash, metadata = (
                glance_store.add_to_backend_with_multihash(
                    CONF, image_id, _ChunkReader(chunks), size or 0, hashing_algo,
                    context=context))
    except store_exc.StoreAddDisabled as err:
        raise exception.StoreAddDisabled() from err
    except store_exc.StorageFull as err:
        raise exception.StorageFull(reason=str(err)) from err
    except store_exc.StorageWriteDenied as err:
        raise exception.StorageWriteDenied(reason=str(err)) from err
    except store_exc.Duplicate as err:
        raise exception.Conflict(f"Image data for {image_id} already exists.") from err
    except store_exc.GlanceStoreException as err:
        raise exception.StoreFailure(reason=str(err)) from err
    return StoredData(url, written, checksum, os_hash, dict(metadata or {}))


# -- read / delete -----------------------------------------------------------------------

def _backend_of(location: dict[str, Any]) -> str | None:
    return (location.get("metadata") or {}).get("store") if is_multi_store() else None


def local_path(location: dict[str, Any]) -> str | None:
    """The file behind a ``file://`` location, when it exists on this host."""
    url = location["url"]
    if not url.startswith("file://"):
        return None
    path = url[len("file://"):]
    return path if os.path.isfile(path) else None


def _s3_target(url: str, backend: str | None) -> tuple[Any, str, str] | None:
    """(s3 store settings, bucket, key) when ``url`` is an s3 store's, else None.

    The settings are looked up once per store: glance_store configures a new driver
    for every lookup, which costs tens of milliseconds a request."""
    if not url.startswith(("s3://", "s3+http://", "s3+https://")):
        return None
    try:
        if is_multi_store():
            parsed = store_location.get_location_from_uri_and_backend(url, backend,
                                                                      conf=CONF)
            driver = _driver(backend) if backend not in _s3_drivers else None
        else:
            parsed = store_location.get_location_from_uri(url, conf=CONF)
            driver = (glance_store.backend.get_store_from_uri(url)
                      if backend not in _s3_drivers else None)
    except (store_exc.GlanceStoreException, exception.UnknownStore):
        return None  # glance_store's own call reports it
    if driver is not None:
        _s3_drivers[backend] = s3_store.settings(driver) if s3_store.handles(driver) else None
    found = _s3_drivers[backend]
    where = parsed.store_location
    return (found, where.bucket, where.key) if found is not None else None


def get(location: dict[str, Any], offset: int = 0, length: int | None = None,
        context=None) -> Iterator[bytes]:
    """An iterator over ``length`` bytes (or all) of a location's data from ``offset``."""
    url, backend = location["url"], _backend_of(location)
    if (s3 := _s3_target(url, backend)) is not None:
        return s3_store.get(*s3, offset=offset, length=length)
    rbd_driver = _rbd_driver(location)
    if rbd_driver is not None:
        try:
            return store_rbd.read(rbd_driver, url, offset, length)
        except (store_exc.GlanceStoreException, *store_rbd.binding_errors()) as err:
            raise exception.StoreFailure(reason=str(err)) from err
    try:
        if offset or length is not None:
            driver = _driver_of(url, backend)
            if driver is not None and store_swift.is_swift(driver):
                return store_swift.ranged_get(driver, url, backend, offset, length,
                                              context=context)
        if is_multi_store():
            data, _size = multi_backend.get(url, backend, offset=offset,
                                            chunk_size=length, context=context)
        else:
            data, _size = glance_store.get_from_backend(url, offset=offset,
                                                        chunk_size=length,
                                                        context=context)
    except store_exc.NotFound as err:
        raise exception.NotFound("The image data could not be found in the store.") \
            from err
    except store_exc.GlanceStoreException as err:
        raise exception.StoreFailure(reason=str(err)) from err
    return iter(data)


def _driver_of(url: str, backend: str | None):
    """The driver that reads ``url`` (None: a multi-store URL of no known store)."""
    if backend:
        return multi_backend.get_store_from_store_identifier(backend)
    if is_multi_store():
        return None
    return glance_store.backend.get_store_from_uri(url)


def supports_ranges(location: dict[str, Any]) -> bool:
    """Whether the location's store can read from an offset (glance_store's
    READ_RANDOM capability, or glance's own Swift range reads); the http store,
    for one, cannot."""
    url, backend = location["url"], _backend_of(location)
    if _s3_target(url, backend) is not None:
        return True  # ranged GETs (glance/s3_store.py)
    if _rbd_driver(location) is not None:
        return True  # glance.store_rbd reads RBD images from any offset
    try:
        driver = _driver_of(url, backend)
    except store_exc.GlanceStoreException:
        return True  # unknown here: the read itself reports the real error
    if driver is None:
        return not url.startswith(("http://", "https://"))
    return store_swift.is_swift(driver) or driver.is_capable(
        capabilities.BitMasks.READ_RANDOM)


def delete(location: dict[str, Any], context=None) -> None:
    """Remove a location's data; missing data is not an error."""
    url, backend = location["url"], _backend_of(location)
    if (s3 := _s3_target(url, backend)) is not None:
        try:
            if not s3_store.delete(*s3):
                LOG.info("Image data at %s was already gone", url)
        except exception.GlanceException as err:
            LOG.error("Cannot delete image data at %s: %s", url, err)
        return
    try:
        if is_multi_store():
            multi_backend.delete(url, backend, context=context)
        else:
            glance_store.delete_from_backend(url, context=context)
    except store_exc.NotFound:
        LOG.info("Image data at %s was already gone", url)
    except store_exc.GlanceStoreException as err:
        LOG.error("Cannot delete image data at %s: %s", url, err)


def in_use_by(location: dict[str, Any]) -> list[str]:
    """What still depends on a location's data (RBD clones); empty when nothing."""
    driver = _rbd_driver(location)
    if driver is None:
        return []
    try:
        return store_rbd.clones_of(driver, location["url"])
    except (store_exc.GlanceStoreException, *store_rbd.binding_errors()) as err:
        raise exception.StoreFailure(reason=str(err)) from err


def remove(location: dict[str, Any], context=None) -> bool:
    """Remove a location's data: True when removed, False when it was already gone.

    Unlike :func:`delete`, every other failure raises exception.StoreFailure (the scrubber
    keeps such a location for its next run).
    """
    url, backend = location["url"], _backend_of(location)
    if (s3 := _s3_target(url, backend)) is not None:
        try:
            return s3_store.delete(*s3)
        except exception.StoreFailure:
            raise
        except exception.GlanceException as err:
            raise exception.StoreFailure(reason=str(err)) from err
    try:
        if is_multi_store():
            multi_backend.delete(url, backend, context=context)
        else:
            glance_store.delete_from_backend(url, context=context)
    except store_exc.NotFound:
        return False
    except Exception as err:  # noqa: BLE001 - drivers raise more than store errors
        raise exception.StoreFailure(reason=f"{type(err).__name__}: {err}") from err
    return True


def remove_partial(image_id: str, backend: str | None) -> None:
    """Remove what an upload killed with its process left in a store that keeps it
    elsewhere than a file (S3: its multipart uploads; RBD: the image); see
    upload_recovery. exception.StoreFailure when the store refuses (try again later)."""
    try:
        driver = _driver(backend or default_backend())
    except exception.GlanceException:
        return
    if s3_store.handles(driver):
        s3_store.remove_partial(s3_store.settings(driver), image_id)
    elif store_rbd.handles(driver) and store_rbd.remove_partial(driver, image_id):
        LOG.warning("Removed partial RBD image of interrupted upload %s", image_id)


# -- locations given by users ------------------------------------------------------------

@dataclass
class LocationStore:
    """The enabled store a user-given URL belongs to."""

    url: str
    scheme: str
    backend: str | None  # the store id (multi-store), else None
    path: str | None = None  # the checked local file, for file:// URLs

    @property
    def is_http(self) -> bool:
        return self.scheme in ("http", "https")

    def metadata(self) -> dict[str, Any]:
        """The location metadata glance records for this store."""
        return {"store": self.backend} if self.backend else {}


def _datadirs(driver) -> list[str]:
    """The data directories of a file store driver."""
    by_priority = getattr(driver, "priority_data_map", None) or {}
    dirs = [path for paths in by_priority.values() for path in paths]
    if getattr(driver, "datadir", None):
        dirs.append(driver.datadir)
    return [os.path.realpath(path) for path in dirs]


def _checked_file(url: str, driver) -> str:
    """The regular file a ``file://`` URL names, inside one of ``driver``'s datadirs.

    No ``..``, no symbolic links, no query, no percent-escapes: the URL must be
    the file's one canonical spelling, so it cannot alias another image's data.
    """
    parts = urlsplit(url)
    path = parts.path
    if parts.netloc or parts.query or parts.fragment or "%" in url or not path:
        raise exception.InvalidLocation(reason="a file location is file:///absolute/path")
    if path != os.path.normpath(path) or "/../" in path + "/" or "//" in path:
        raise exception.InvalidLocation(reason="the path is not in canonical form")
    real = os.path.realpath(path)
    if real != path:
        raise exception.InvalidLocation(reason="the path goes through a symbolic link")
    if not any(os.path.commonpath([real, datadir]) == datadir and real != datadir
               for datadir in _datadirs(driver)):
        raise exception.InvalidLocation(reason="the file is not in a data directory of the store")
    if not os.path.isfile(real):
        raise exception.InvalidLocation(reason="no such file")
    return real


def location_store(url: str) -> LocationStore:
    """The enabled store ``url`` belongs to; exception.InvalidLocation (400) when none.

    For the file store the URL must name an existing regular file inside one of
    the store's data directories (never any other file of the server).
    """
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as err:
        raise exception.InvalidLocation(reason="the URL cannot be parsed") from err
    if not scheme or url.split(":", 1)[0] != scheme:
        raise exception.InvalidLocation(reason="the URL has no (lower-case) scheme")
    if is_multi_store():
        candidates = [backend for backend in
                      store_location.SCHEME_TO_CLS_BACKEND_MAP.get(scheme, {})
                      if not backend.startswith("os_glance_")
                      and backend in (CONF.enabled_backends or {})]
    else:
        candidates = [None] if scheme in store_location.SCHEME_TO_CLS_MAP else []
    if not candidates:
        raise exception.InvalidLocation(reason=f"no enabled store handles '{scheme}' URLs")
    last_error: exception.InvalidLocation | None = None
    for backend in candidates:
        if scheme != "file":
            return LocationStore(url, scheme, backend)
        try:
            driver = (_driver(backend) if is_multi_store()
                      else glance_store.backend.get_store_from_scheme("file"))
            return LocationStore(url, scheme, backend, _checked_file(url, driver))
        except exception.InvalidLocation as err:
            last_error = err
    assert last_error is not None
    raise last_error


def location_size(target: LocationStore, context=None) -> int:
    """Bytes of data behind a (non-http) location, asked from its store."""
    if target.path is not None:
        return os.path.getsize(target.path)
    try:
        if is_multi_store():
            size = multi_backend.get_size_from_uri_and_backend(
                target.url, target.backend, context=context)
        else:
            size = glance_store.get_size_from_backend(target.url, context=context)
    except store_exc.NotFound as err:
        raise exception.InvalidLocation(reason="no data at this location") from err
    except store_exc.GlanceStoreException as err:
        raise exception.InvalidLocation(reason=str(err)) from err
    if not size:
        raise exception.InvalidLocation(reason="the store does not know the size of the data")
    return int(size)
