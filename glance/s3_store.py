"""The S3 data path: parallel multipart uploads in bounded memory, ranged reads, aborts.

glance_store's s3 driver stays the owner of the configuration (its ``s3_store_*``
options, read by the driver's ``configure_add``), of location URLs and of the
scheme map; this module moves the data with one boto3 client per store, built
from the driver's settings:

* **add**: an image of a known size under ``s3_store_large_object_size`` is one
  PUT (as glance_store). Anything larger, and any upload without a size that
  holds more than one part, is a multipart upload whose parts
  (``s3_store_large_object_chunk_size``, grown to stay within S3's 10,000 parts)
  go up on ``s3_store_thread_pools`` threads while the next part is read: at
  most that many parts plus the one being filled are in memory (glance_store
  reads the whole image ahead of its threads, and keeps an upload without a size
  in memory whole). Any failure, including the client going away, aborts the
  multipart upload: nothing is left in the bucket.
* **get**: a ranged GET when an offset or length is asked (so Range and
  multi-range downloads read only what they send; glance_store's driver cannot
  read from an offset).
* **remove_partial**: what an upload killed with its process left behind (its
  multipart uploads, an object completed before the image went active).

S3 errors become glance exceptions here.
"""

import math
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

from glance_store import capabilities
from glance_store import exceptions as store_exc
from glance_store._drivers import s3 as s3_driver
from oslo_log import log as logging

from glance import exception

LOG = logging.getLogger(__name__)
MiB = 1024 * 1024
MAX_PARTS = 10000          # S3's limit on the parts of one object
MIN_PART = 5 * MiB         # S3's smallest part (all but the last)
GROWTH_EVERY = 1000        # without a size, the part size doubles every this many parts
READ_CHUNK = MiB           # bytes per chunk a download yields
DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                "AuthorizationHeaderMalformed", "InvalidToken", "ExpiredToken"}
FULL_CODES = {"QuotaExceeded", "EntityTooLarge", "InsufficientCapacity"}
MISSING_CODES = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}



# -- which driver, which settings, which client ------------------------------------------

def handles(driver: Any) -> bool:
    """Whether ``driver`` is glance_store's s3 driver (and boto3 is there)."""
    return isinstance(driver, s3_driver.Store) and s3_driver.boto_session is not None


@dataclass(frozen=True)
class Settings:
    """One s3 store's options, read once from its configured glance_store driver
    (reading them through the driver costs milliseconds each)."""

    section: str                 # the config section: the store id, or glance_store
    writable: bool               # the driver configured for adding (WRITE_ACCESS)
    scheme: str                  # s3 or s3+https
    endpoint: str                # s3_store_host with its http(s):// scheme
    access_key: str
    secret_key: str
    region: str                  # s3_store_region_name ('' when unset)
    aws_region: str              # the region glance_store derives from an AWS host
    bucket: str
    url_format: str              # s3_store_bucket_url_format
    cacert: str
    large_object_size: int       # bytes
    chunk_size: int              # bytes
    threads: int
    create_bucket: bool
    checksums: tuple[str, str]   # request calculation, response validation
    driver: Any = field(compare=False, repr=False)


_settings: dict[str | None, Settings] = {}
_clients: dict[Settings, Any] = {}
_lock = threading.Lock()


def settings(driver: Any) -> Settings:
    """The store's :class:`Settings` (cached per store until :func:`forget`)."""
    with _lock:
        found = _settings.get(driver.backend_group)
    if found is not None:
        return found
    option = driver._option_get
    writable = driver.is_capable(capabilities.BitMasks.WRITE_ACCESS)
    checksums = ("when_required", "when_required")
    if option("s3_store_enable_data_integrity_protection"):
        checksums = (option("s3_store_request_checksum_calculation"),
                     option("s3_store_response_checksum_validation"))
    made = Settings(
        section=driver.backend_group or "glance_store", writable=writable,
        scheme=getattr(driver, "scheme", "s3"),
        endpoint=getattr(driver, "full_s3_host", ""),
        access_key=getattr(driver, "access_key", ""),
        secret_key=getattr(driver, "secret_key", ""),
        region=getattr(driver, "region_name", "") or "",
        aws_region=s3_driver.get_s3_location(getattr(driver, "s3_host", "")),
        bucket=getattr(driver, "bucket", ""), url_format=option("s3_store_bucket_url_format"),
        cacert=option("s3_store_cacert") or "",
        large_object_size=getattr(driver, "s3_store_large_object_size", 0),
        chunk_size=max(getattr(driver, "s3_store_large_object_chunk_size", 0), MIN_PART),
        threads=max(getattr(driver, "s3_store_thread_pools", 1), 1),
        create_bucket=bool(option("s3_store_create_bucket_on_put")), checksums=checksums,
        driver=driver)
    if writable:
        with _lock:
            _settings[driver.backend_group] = made
    return made


def forget() -> None:
    """Drop the cached settings and clients (the store configuration changed)."""
    with _lock:
        _settings.clear()
        _clients.clear()


def _after_fork() -> None:
    """A forked worker makes its own clients: their pooled connections are not shared."""
    global _lock  # noqa: PLW0603 - a lock held at fork time stays held in the child
    _lock = threading.Lock()
    _clients.clear()


os.register_at_fork(after_in_child=_after_fork)


def client(store: Settings) -> Any:
    """The store's boto3 S3 client, one per process and settings (thread-safe)."""
    with _lock:
        found = _clients.get(store)
    if found is not None:
        return found
    session = s3_driver.boto_session.Session(aws_access_key_id=store.access_key,
                                             aws_secret_access_key=store.secret_key)
    # As glance_store: a known AWS host picks its region, else the endpoint is used.
    region = store.region or store.aws_region or None
    endpoint = None if store.aws_region and not store.region else store.endpoint
    config = s3_driver.boto_client.Config(
        s3={"addressing_style": store.url_format},
        request_checksum_calculation=store.checksums[0],
        response_checksum_validation=store.checksums[1],
        max_pool_connections=max(10, store.threads + 2),
        connect_timeout=10, read_timeout=120,
        retries={"max_attempts": 3, "mode": "standard"})
    made = session.client("s3", endpoint_url=endpoint, region_name=region,
                          use_ssl=store.scheme == "s3+https",
                          verify=store.cacert or None, config=config)
    with _lock:
        return _clients.setdefault(store, made)


def _code(err: Exception) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))


def _translate(err: Exception, what: str) -> exception.GlanceException:
    """A glance exception for a botocore error met while doing ``what``."""
    code = _code(err)
    if code in DENIED_CODES:
        return exception.StorageWriteDenied(
            reason=f"S3 refused to {what} ({code}): check s3_store_access_key, "
                   "s3_store_secret_key and s3_store_region_name")
    if code in FULL_CODES:
        return exception.StorageFull(reason=f"S3 refused to {what} ({code})")
    return exception.StoreFailure(reason=f"S3 failed to {what}: {err}")


def _is_missing(err: Exception) -> bool:
    return _code(err) in MISSING_CODES


# -- start-up check ----------------------------------------------------------------------

def check(driver: Any) -> None:
    """At start-up: a store glance_store could not configure, and credentials S3
    refuses, are one-line RuntimeErrors naming the section's options; an endpoint that
    does not answer and a missing bucket that will not be created are logged (S3 may
    come later, the bucket may be created)."""
    store = settings(driver)
    if not store.writable:
        try:
            driver.configure_add()
        except store_exc.BadStoreConfiguration as err:
            raise RuntimeError(f"[{store.section}] {err.msg}") from None
        store = settings(driver)
    try:
        client(store).head_bucket(Bucket=store.bucket)
    except s3_driver.boto_exceptions.ClientError as err:
        code = _code(err)
        if code in ("403", *DENIED_CODES):
            raise RuntimeError(
                f"[{store.section}] s3_store_access_key / s3_store_secret_key: S3 at "
                f"{store.endpoint} refuses them for bucket {store.bucket} (HTTP {code}; "
                f"s3_store_region_name = {store.region or '(unset)'})") from None
        if code in MISSING_CODES and not store.create_bucket:
            LOG.warning("[%s] bucket %s does not exist and s3_store_create_bucket_on_put "
                        "is false: uploads to this store fail until it is created",
                        store.section, store.bucket)
        elif code not in MISSING_CODES:
            LOG.warning("[%s] S3 answered %s for bucket %s", store.section, code,
                        store.bucket)
    except s3_driver.boto_exceptions.BotoCoreError as err:
        LOG.warning("[%s] S3 at %s cannot be reached now: %s", store.section,
                    store.endpoint, err)


# -- add ---------------------------------------------------------------------------------

def part_size(chunk: int, size: int | None, number: int) -> int:
    """Bytes of part ``number`` (1-based): ``chunk`` (the configured part size),
    enough larger for a known ``size`` to fit in 10,000 parts; without a size it
    doubles every 1,000 parts (S3 takes parts of different sizes)."""
    if size:
        return max(chunk, math.ceil(math.ceil(size / MAX_PARTS) / MiB) * MiB)
    return chunk * 2 ** ((number - 1) // GROWTH_EVERY)


class _Blocks:
    """Reads blocks of a requested size from an iterator of chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""
        self.done = False

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (fewer only at the end); ``done`` once nothing is left.
        Only the chunk that crosses ``size`` is copied."""
        parts, have = ([self._rest], len(self._rest)) if self._rest else ([], 0)
        self._rest = b""
        while have < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.done = True
                break
            if chunk:
                parts.append(chunk)
                have += len(chunk)
        if have > size:
            last = parts[-1]
            cut = len(last) - (have - size)
            parts[-1], self._rest = last[:cut], last[cut:]
        elif not self.done:  # exactly full: look one chunk ahead for the end
            while (chunk := next(self._chunks, None)) is not None and not chunk:
                pass
            if chunk is None:
                self.done = True
            else:
                self._rest = chunk
        return parts[0] if len(parts) == 1 else b"".join(parts)


def _bucket_ready(store: Settings, s3: Any) -> None:
    """The bucket exists, created when ``s3_store_create_bucket_on_put`` says so."""
    bucket = store.bucket
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except s3_driver.boto_exceptions.ClientError as err:
        if not _is_missing(err):
            raise _translate(err, f"open bucket {bucket}") from err
    if not store.create_bucket:
        raise exception.StoreFailure(
            reason=f"the bucket {bucket} does not exist; create it or set "
                   f"[{store.section}] s3_store_create_bucket_on_put")
    region = store.region or store.aws_region
    kwargs = {"CreateBucketConfiguration": {"LocationConstraint": region}} if region else {}
    try:
        s3.create_bucket(Bucket=bucket, **kwargs)
        LOG.info("Created bucket %s", bucket)
    except s3_driver.boto_exceptions.ClientError as err:
        if _code(err) != "BucketAlreadyOwnedByYou":
            raise _translate(err, f"create bucket {bucket}") from err


def _absent(s3: Any, bucket: str, key: str) -> None:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3_driver.boto_exceptions.ClientError as err:
        if _is_missing(err):
            return
        raise _translate(err, f"look up {key}") from err
    raise exception.Conflict(f"Image data for {key} already exists.")


def add(store: Settings, image_id: str, chunks: Iterable[bytes],
        size: int | None) -> tuple[str, int]:
    """Store ``chunks`` as object ``image_id``; (location URL, bytes written).

    Nothing stays in the bucket when this raises; exceptions raised by ``chunks``
    propagate unchanged.
    """
    if not store.writable:
        raise exception.StoreAddDisabled()
    s3, key = client(store), str(image_id)
    try:
        _bucket_ready(store, s3)
        _absent(s3, store.bucket, key)
    except s3_driver.boto_exceptions.BotoCoreError as err:
        raise exception.StoreFailure(reason=f"S3 cannot be reached: {err}") from err
    url = s3_driver.StoreLocation(
        store_specs={"scheme": store.scheme, "bucket": store.bucket, "key": key,
                     "s3serviceurl": store.endpoint},
        conf=store.driver.conf, backend_group=store.driver.backend_group).get_uri()
    blocks = _Blocks(chunks)
    # A known size under s3_store_large_object_size is one PUT, as in glance_store.
    single = size is not None and 0 < size < store.large_object_size
    first = blocks.read(size if single and size else part_size(store.chunk_size, size, 1))
    if blocks.done:
        try:
            s3.put_object(Bucket=store.bucket, Key=key, Body=first)
        except (s3_driver.boto_exceptions.ClientError,
                s3_driver.boto_exceptions.BotoCoreError) as err:
            raise _translate(err, f"write {key}") from err
        return url, len(first)
    return url, _multipart(store, s3, key, first, blocks, size)


def _multipart(store: Settings, s3: Any, key: str, first: bytes, blocks: _Blocks,
               size: int | None) -> int:
    """Upload ``first`` and the rest of ``blocks`` as parts on the store's threads,
    at most ``threads`` parts in flight; abort the multipart upload on any failure."""
    bucket = store.bucket
    try:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    except (s3_driver.boto_exceptions.ClientError,
            s3_driver.boto_exceptions.BotoCoreError) as err:
        raise _translate(err, f"start a multipart upload of {key}") from err
    slots = threading.BoundedSemaphore(store.threads)
    pending: list[futures.Future] = []
    written = 0

    def send(number: int, data: bytes) -> dict[str, Any]:
        try:
            answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                    PartNumber=number, Body=data, ContentLength=len(data))
            return {"PartNumber": number, "ETag": answer["ETag"]}
        finally:
            slots.release()

    executor = futures.ThreadPoolExecutor(max_workers=store.threads,
                                          thread_name_prefix="s3-part")
    try:
        number, data = 1, first
        del first
        while True:
            slots.acquire()
            failed = [f for f in pending if f.done() and f.exception()]
            if failed:
                slots.release()
                failed[0].result()
            pending.append(executor.submit(send, number, data))
            written += len(data)
            if blocks.done:
                break
            number += 1
            data = blocks.read(part_size(store.chunk_size, size, number))
        parts = [f.result() for f in pending]
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                     MultipartUpload={"Parts": parts})
    except BaseException as err:
        executor.shutdown(wait=True, cancel_futures=True)
        _abort(s3, bucket, key, upload_id)
        if isinstance(err, (s3_driver.boto_exceptions.ClientError,
                            s3_driver.boto_exceptions.BotoCoreError)):
            raise _translate(err, f"write {key}") from err
        raise
    executor.shutdown(wait=True)
    LOG.debug("Multipart upload of %s: %d parts, %d bytes", key, len(pending), written)
    return written


def _abort(s3: Any, bucket: str, key: str, upload_id: str) -> None:
    try:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception as err:  # noqa: BLE001 - the upload's own error is the one to raise
        LOG.error("Cannot abort multipart upload %s of %s: %s", upload_id, key, err)


# -- read / delete -----------------------------------------------------------------------

def get(store: Settings, bucket: str, key: str, offset: int = 0,
        length: int | None = None) -> Iterator[bytes]:
    """``length`` bytes (all when None) of the object from ``offset``: a ranged GET
    when part of it is asked. NotFound when the object is gone."""
    if length == 0:
        return iter(())
    kwargs = {}
    if offset or length is not None:
        last = "" if length is None else str(offset + length - 1)
        kwargs["Range"] = f"bytes={offset}-{last}"
    try:
        answer = client(store).get_object(Bucket=bucket, Key=key, **kwargs)
    except s3_driver.boto_exceptions.ClientError as err:
        if _is_missing(err):
            raise exception.NotFound(
                "The image data could not be found in the store.") from err
        if _code(err) == "InvalidRange":
            return iter(())
        raise _translate(err, f"read {key}") from err
    except s3_driver.boto_exceptions.BotoCoreError as err:
        raise exception.StoreFailure(reason=f"S3 cannot be reached: {err}") from err
    return _stream(answer["Body"], key)


def _stream(body: Any, key: str) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_CHUNK)
    except s3_driver.boto_exceptions.BotoCoreError as err:
        raise exception.StoreFailure(reason=f"S3 read of {key} failed: {err}") from err
    finally:
        body.close()


def delete(store: Settings, bucket: str, key: str) -> bool:
    """Delete the object: True when it was there, False when it was already gone."""
    s3 = client(store)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3_driver.boto_exceptions.ClientError as err:
        if _is_missing(err):
            return False
        raise _translate(err, f"look up {key}") from err
    except s3_driver.boto_exceptions.BotoCoreError as err:
        raise exception.StoreFailure(reason=f"S3 cannot be reached: {err}") from err
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except (s3_driver.boto_exceptions.ClientError,
            s3_driver.boto_exceptions.BotoCoreError) as err:
        raise _translate(err, f"delete {key}") from err
    return True


def remove_partial(store: Settings, image_id: str) -> None:
    """Abort the multipart uploads of object ``image_id`` and delete the object (an
    upload whose process died; the image never went active with it)."""
    s3, bucket, key = client(store), store.bucket, str(image_id)
    try:
        listed = s3.list_multipart_uploads(Bucket=bucket, Prefix=key)
        for upload in listed.get("Uploads", []):
            if upload["Key"] == key:
                _abort(s3, bucket, key, upload["UploadId"])
                LOG.warning("Aborted multipart upload %s of interrupted image %s",
                            upload["UploadId"], key)
        s3.delete_object(Bucket=bucket, Key=key)
    except (s3_driver.boto_exceptions.ClientError,
            s3_driver.boto_exceptions.BotoCoreError) as err:
        if not _is_missing(err):
            LOG.error("Cannot clean up interrupted upload %s in bucket %s: %s", key,
                      bucket, err)
