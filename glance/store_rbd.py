"""RBD image data through python-rbd directly: pipelined large writes and reads.

glance_store's rbd driver writes one chunk at a time with a blocking ``write``
(and a resize per chunk when the size is unknown) and reads from offset 0 only.
Here the same images are written and read with several asynchronous requests
of whole RBD objects in flight, and read from any offset (HTTP Range).

Everything else is the driver's: the options (``rbd_store_pool``,
``rbd_store_user``, ``rbd_store_ceph_conf``, ``rbd_store_chunk_size``,
``rados_connect_timeout``, ``rbd_thin_provisioning``) are read from the
configured glance_store driver, images get the driver's name (the image id),
features (``rbd_default_features``), object size, protected ``snap`` snapshot and
``rbd://<fsid>/<pool>/<image>/snap`` URL, so glance_store deletes them and Nova
and Cinder clone them as they do any Glance image.
"""

from __future__ import annotations

import math
import os
import threading
import urllib.parse
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from glance_store._drivers import rbd as rbd_driver
from oslo_log import log as logging

from glance import exception

LOG = logging.getLogger(__name__)
SNAPSHOT = rbd_driver.DEFAULT_SNAPNAME
IN_FLIGHT = 8  # asynchronous requests of one upload or download at a time
MAX_PIECE = 8 * 1024 * 1024  # largest single request (an object when the chunk is 8 MiB)
_connections: dict[tuple[str, str | None, int, int], Any] = {}
_connections_lock = threading.Lock()

try:  # Debian's python3-rados/python3-rbd: glance.conf.dependencies checks at start-up
    import rados
    import rbd
except ImportError:  # pragma: no cover - the driver itself then refuses to configure
    rados = rbd = None


def binding_errors() -> tuple[type[BaseException], ...]:
    """rados.Error and rbd.Error (none without the bindings)."""
    return (rados.Error, rbd.Error) if rbd is not None else ()


def handles(driver) -> bool:
    """Whether ``driver`` is glance_store's rbd driver (data goes through here)."""
    return isinstance(driver, rbd_driver.Store) and rbd is not None


# -- connections -------------------------------------------------------------------------

def _user(driver) -> str | None:
    user = driver.user
    return None if user in ("", "None") else user  # the driver keeps str(None)


def connection(driver):
    """A connected ``rados.Rados`` for the driver's cluster and user, one per process
    (librados is thread-safe; a forked worker gets its own)."""
    timeout = driver.store_conf.rados_connect_timeout
    key = (driver.conf_file, _user(driver), timeout, os.getpid())
    with _connections_lock:
        client = _connections.get(key)
        if client is not None and client.state == "connected":
            return client
        client = rados.Rados(conffile=driver.conf_file or "", rados_id=_user(driver))
        if timeout >= 0:
            for option in ("rados_osd_op_timeout", "rados_mon_op_timeout",
                           "client_mount_timeout"):
                client.conf_set(option, str(timeout))
        try:
            client.connect(timeout=timeout if timeout > 0 else 0)
        except rados.Error as err:
            client.shutdown()
            raise exception.StoreFailure(reason=f"cannot connect to Ceph: {err}") from err
        _connections[key] = client
        return client


@dataclass
class Target:
    """Where an RBD image lives: pool, image name and snapshot (None: the image head)."""

    pool: str
    image: str
    snapshot: str | None


def parse(driver, url: str) -> Target:
    """``rbd://<fsid>/<pool>/<image>/<snap>`` or the old ``rbd://<image>``."""
    location = rbd_driver.StoreLocation({}, driver.conf)
    location.parse_uri(url)  # BadStoreUri for anything else
    return Target(location.pool or driver.pool, location.image, location.snapshot)


def url_of(fsid: str, pool: str, image: str) -> str:
    quote = urllib.parse.quote
    return f"rbd://{quote(fsid, '')}/{quote(pool, '')}/{quote(image, '')}/{SNAPSHOT}"


# -- writing -----------------------------------------------------------------------------

class _Pipeline:
    """At most ``depth`` asynchronous requests in flight; the first error is kept."""

    def __init__(self, depth: int = IN_FLIGHT) -> None:
        self.slots = threading.Semaphore(depth)
        self.depth = depth
        self.error: int | None = None

    def done(self, completion, *_data) -> None:
        value = completion.get_return_value()
        if value < 0 and self.error is None:
            self.error = value
        self.slots.release()

    def drain(self) -> None:
        for _ in range(self.depth):
            self.slots.acquire()
        for _ in range(self.depth):
            self.slots.release()
        self.check()

    def check(self) -> None:
        if self.error is not None:
            errno = -self.error
            if errno == 28:  # ENOSPC
                raise exception.StorageFull(reason="the Ceph pool is full")
            raise exception.StoreFailure(reason=f"RBD write failed: {os.strerror(errno)}")


def _pieces(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The stream regrouped into ``size``-byte pieces (the last may be shorter)."""
    parts: list[bytes] = []
    held = 0
    for chunk in chunks:
        if not chunk:
            continue
        parts.append(chunk)
        held += len(chunk)
        while held >= size:
            joined = b"".join(parts)
            yield joined[:size]
            rest = joined[size:]
            parts, held = ([rest] if rest else []), len(rest)
    if held:
        yield b"".join(parts)


def write(driver, image_id: str, chunks: Iterable[bytes], size: int | None,
          update: Callable[[bytes], None]) -> tuple[str, int]:
    """Create RBD image ``image_id`` in the driver's pool from ``chunks`` (``size``
    bytes when known, else grown as it comes), snapshot and protect it; returns
    (url, bytes written). ``update`` sees every byte, in order (the hashes).

    On any failure the image is removed and the error raised.
    """
    client = connection(driver)
    fsid = client.get_fsid()
    object_size = driver.WRITE_CHUNKSIZE
    piece_size = min(object_size, MAX_PIECE)
    zeros = bytes(piece_size) if driver.thin_provisioning else b""
    features = client.conf_get("rbd_default_features")
    features = int(features) if features and int(features) else rbd.RBD_FEATURE_LAYERING
    with client.open_ioctx(driver.pool) as ioctx:
        try:
            rbd.RBD().create(ioctx, image_id, size or 0, int(math.log2(object_size)),
                             old_format=False, features=features)
        except rbd.ImageExists as err:
            raise exception.Conflict(f"Image data for {image_id} already exists.") from err
        try:
            with rbd.Image(ioctx, image_id) as image:
                written = _write_pieces(image, _pieces(chunks, piece_size), size or 0,
                                        update, zeros)
                image.create_snap(SNAPSHOT)
                image.protect_snap(SNAPSHOT)
        except BaseException:
            _remove(ioctx, image_id)
            raise
    return url_of(fsid, driver.pool, image_id), written


def _write_pieces(image, pieces: Iterator[bytes], size: int,
                  update: Callable[[bytes], None], zeros: bytes) -> int:
    pipeline = _Pipeline()
    capacity, offset = size, 0
    try:
        for piece in pieces:
            update(piece)
            end = offset + len(piece)
            if end > capacity:  # unknown (or wrong) size: grow, doubling up to 8 GiB
                pipeline.drain()
                capacity = max(end, capacity + min(max(capacity, 64 << 20), 8 << 30))
                image.resize(capacity)
            if not (zeros and piece == zeros[:len(piece)]):  # thin: holes read as zeros
                pipeline.slots.acquire()
                pipeline.check()
                image.aio_write(piece, offset, pipeline.done)
            offset = end
        pipeline.drain()
        if capacity != offset:
            image.resize(offset)
        image.flush()
    except rbd.NoSpace as err:
        raise exception.StorageFull(reason=str(err)) from err
    finally:
        _wait_all(pipeline)
    return offset


def _wait_all(pipeline: _Pipeline) -> None:
    """Let every request still in flight finish (they reference the image)."""
    for _ in range(pipeline.depth):
        pipeline.slots.acquire()
    for _ in range(pipeline.depth):
        pipeline.slots.release()


def _remove_image(ioctx, image_id: str) -> bool:
    """Remove image ``image_id`` and its snapshots; False when there is none."""
    try:
        with rbd.Image(ioctx, image_id) as image:
            for snap in list(image.list_snaps()):
                if image.is_protected_snap(snap["name"]):
                    image.unprotect_snap(snap["name"])
                image.remove_snap(snap["name"])
        rbd.RBD().remove(ioctx, image_id)
    except rbd.ImageNotFound:
        return False
    return True


def _remove(ioctx, image_id: str) -> None:
    """Remove a partly written image (and its snapshot); failures are logged."""
    try:
        _remove_image(ioctx, image_id)
    except Exception as err:  # noqa: BLE001 - cleanup of an upload that already failed
        LOG.error("Cannot remove partial RBD image %s: %s", image_id, err)


def remove_partial(driver, image_id: str) -> bool:
    """Remove what an upload killed with its process (on this node or another) left
    in the driver's pool: image ``image_id``, snapshots included. True if there was one.

    The dead writer's watch on the image outlives it by ``osd_client_watch_timeout``
    (30 s by default), during which Ceph refuses the removal: exception.StoreFailure,
    and the caller tries again on its next pass.
    """
    try:
        with connection(driver).open_ioctx(driver.pool) as ioctx:
            return _remove_image(ioctx, image_id)
    except rbd.ImageBusy as err:
        raise exception.StoreFailure(
            reason=f"RBD image {image_id} still has a watcher (a dead writer's watch "
                   f"expires after osd_client_watch_timeout): {err}") from err
    except (rados.Error, rbd.Error) as err:
        raise exception.StoreFailure(reason=f"{type(err).__name__}: {err}") from err


# -- reading -----------------------------------------------------------------------------

def read(driver, url: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
    """``length`` bytes (or the rest) of the image at ``url`` from ``offset``, read
    with several asynchronous requests in flight. exception.NotFound at once when
    the image (or its snapshot) is gone."""
    target = parse(driver, url)
    client = connection(driver)
    ioctx = client.open_ioctx(target.pool)
    try:
        image = rbd.Image(ioctx, target.image, snapshot=target.snapshot, read_only=True)
    except (rbd.ImageNotFound, rbd.ObjectNotFound) as err:
        ioctx.close()
        raise exception.NotFound("The image data could not be found in the store.") \
            from err
    except BaseException:
        ioctx.close()
        raise
    image_size = image.size()
    end = image_size if length is None else min(image_size, offset + length)
    return _Reader(ioctx, image, offset, end, min(driver.READ_CHUNKSIZE, MAX_PIECE))


class _Reader:
    """The pieces of one read; ``close`` releases the image even when never iterated
    (a generator that was not started runs no ``finally`` on close)."""

    def __init__(self, ioctx, image, offset: int, end: int, piece: int) -> None:
        self._handles = (ioctx, image)
        self._pieces = _read_pieces(ioctx, image, offset, end, piece)
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        self._started = True
        return next(self._pieces)

    def close(self) -> None:
        if self._started:
            self._pieces.close()
            return
        self._started = True  # closed once
        self._pieces.close()
        ioctx, image = self._handles
        image.close()
        ioctx.close()


def _read_pieces(ioctx, image, offset: int, end: int, piece: int) -> Generator[bytes, None, None]:
    pending: deque[tuple[Any, list]] = deque()
    try:
        position = offset
        while position < end or pending:
            while position < end and len(pending) < IN_FLIGHT:
                size = min(piece, end - position)
                # Split at object boundaries: each request then touches one object.
                size = min(size, piece - position % piece) if position % piece else size
                result: list = []
                event = threading.Event()

                def done(completion, data, result=result, event=event) -> None:
                    result.append((completion.get_return_value(), data))
                    event.set()

                pending.append((event, result))
                image.aio_read(position, size, done)
                position += size
            event, result = pending.popleft()
            event.wait()
            value, data = result[0]
            if value < 0:
                raise exception.StoreFailure(reason=f"RBD read failed: "
                                                    f"{os.strerror(-value)}")
            yield data
    finally:
        for event, _result in pending:
            event.wait()
        image.close()
        ioctx.close()


def size_of(driver, url: str) -> int:
    """Bytes of the image at ``url``; exception.NotFound when gone."""
    target = parse(driver, url)
    with connection(driver).open_ioctx(target.pool) as ioctx:
        try:
            with rbd.Image(ioctx, target.image, snapshot=target.snapshot,
                           read_only=True) as image:
                return image.size()
        except (rbd.ImageNotFound, rbd.ObjectNotFound) as err:
            raise exception.NotFound("The image data could not be found in the store.") \
                from err


def clones_of(driver, url: str) -> list[str]:
    """``pool/image`` names of the clones (Cinder volumes, Nova disks) made from the
    snapshot of the image at ``url``; empty when none or when the image is gone."""
    target = parse(driver, url)
    if target.snapshot is None:
        return []
    with connection(driver).open_ioctx(target.pool) as ioctx:
        try:
            with rbd.Image(ioctx, target.image, snapshot=target.snapshot,
                           read_only=True) as image:
                return [f"{pool}/{name}" for pool, name in image.list_children()]
        except (rbd.ImageNotFound, rbd.ObjectNotFound):
            return []
