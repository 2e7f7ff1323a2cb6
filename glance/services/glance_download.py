"""The ``glance-download`` import method: fill an image from another region's Glance.

The import call names the remote image (``glance_image_id``), the Keystone
region of the Glance that holds it (``glance_region``) and the endpoint
interface (``glance_service_interface``, ``public`` by default). As in Glance,
the remote Glance is found in the caller's service catalog (keystonemiddleware's
``X-Service-Catalog``) and called with the caller's token: first for the image
record (it must be ``active``; its formats and the properties that start with a
``[glance_download_properties] extra_properties`` prefix are carried over), then
for the data, which is staged and then stored like any other import.

Beyond Glance, the staged data is checked against the remote image's
``os_hash_value`` (and ``checksum``) before it is stored, not only its size.
Every outbound call passes ``[import_filtering_opts]`` like web-download.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from oslo_config import cfg

from glance import exception, quota
from glance.services import web_download

CONF = cfg.CONF
PURPOSE = "glance-download"
RESERVED_PREFIX = "os_glance"


@dataclass(frozen=True)
class RemoteRef:
    """Which remote image to import, and with whose credentials."""

    region: str
    image_id: str
    interface: str
    token: str | None
    catalog: list[dict[str, Any]]


@dataclass(frozen=True)
class RemoteImage:
    """The remote image record, as the import needs it."""

    record: dict[str, Any]

    @property
    def size(self) -> int:
        try:
            return int(self.record["size"])
        except (KeyError, TypeError, ValueError) as err:
            raise exception.ImportFailed(
                reason="Size attribute of remote image "
                       f"{self.record.get('id')} could not be determined.") from err

    def carried_properties(self) -> dict[str, str]:
        """The remote properties ``extra_properties`` selects (never ``os_glance*``)."""
        prefixes = CONF.glance_download_properties.extra_properties
        return {key: value for key, value in self.record.items()
                if isinstance(value, str) and not key.startswith(RESERVED_PREFIX)
                and any(key.startswith(prefix) for prefix in prefixes)}

    def formats(self) -> dict[str, str | None]:
        return {"disk_format": self.record.get("disk_format"),
                "container_format": self.record.get("container_format")}


def parse_method(method: dict[str, Any], context) -> RemoteRef:
    """The ``method`` object of a glance-download import call, checked (400 with
    Glance's messages); the caller's token and catalog go with it."""
    for name in ("glance_region", "glance_image_id"):
        if name not in method:
            raise exception.BadRequest(f"'{name}' needs to be set for glance-download "
                                       "import method")
        if not isinstance(method[name], str):
            raise exception.BadRequest(f"'{name}' must be a string")
    try:
        uuid.UUID(method["glance_image_id"])
    except ValueError as err:
        raise exception.BadRequest("Remote image id does not look like a UUID: "
                                   f"{method['glance_image_id']}") from err
    interface = method.get("glance_service_interface", "public")
    if not isinstance(interface, str):
        raise exception.BadRequest("'glance_service_interface' must be a string")
    return RemoteRef(region=method["glance_region"], image_id=method["glance_image_id"],
                     interface=interface, token=getattr(context, "auth_token", None),
                     catalog=list(getattr(context, "service_catalog", None) or []))


def endpoint(ref: RemoteRef) -> str:
    """The remote Glance's URL for the region and interface, from the catalog."""
    for service in ref.catalog:
        if not isinstance(service, dict) or service.get("type") != "image":
            continue
        for entry in service.get("endpoints") or []:
            region = str(entry.get("region") or entry.get("region_id") or "")
            if region.lower() != ref.region.lower():
                continue
            url = entry.get(f"{ref.interface}URL")  # keystonemiddleware's v2-style entry
            if url is None and entry.get("interface") == ref.interface:
                url = entry.get("url")  # a v3 catalog entry
            if url:
                return str(url).rstrip("/")
    raise exception.ImportFailed(reason=f"{ref.interface} glance endpoint not found for "
                                        f"region {ref.region}")


def _headers(ref: RemoteRef) -> dict[str, str]:
    return {"X-Auth-Token": ref.token} if ref.token else {}


def fetch_record(ref: RemoteRef) -> RemoteImage:
    """GET the remote image; it must exist and be ``active``."""
    url = f"{endpoint(ref)}/v2/images/{ref.image_id}"
    web_download.check(url, PURPOSE)
    timeout = CONF.image_import_opts.web_download_timeout
    try:
        response = requests.get(url, headers=_headers(ref), allow_redirects=False,
                                timeout=(timeout, timeout))
    except requests.RequestException as err:
        raise exception.DownloadFailed(url=url, reason=str(err)) from err
    if response.status_code != 200:
        raise exception.DownloadFailed(url=url,
                                       reason=f"HTTP status {response.status_code}")
    try:
        record = response.json()
    except ValueError as err:
        raise exception.DownloadFailed(url=url, reason="the answer is not JSON") from err
    if not isinstance(record, dict):
        raise exception.DownloadFailed(url=url, reason="the answer is not an image")
    if record.get("status") != "active":
        raise exception.ImportFailed(reason="Source image status should be active "
                                            f"instead of {record.get('status')}")
    return RemoteImage(record)


def fetch_data(ref: RemoteRef, remote: RemoteImage, path: str,
               limit: quota.UploadLimit) -> int:
    """Download the remote image's data into a new file at ``path``; its size and
    hashes must be the remote image's. Returns the size."""
    url = f"{endpoint(ref)}/v2/images/{ref.image_id}/file"
    expected = remote.size
    limit.check(expected)
    algo = remote.record.get("os_hash_algo")
    hasher = (hashlib.new(str(algo)) if algo in hashlib.algorithms_available
              else None)
    md5 = hashlib.md5(usedforsecurity=False)

    def observe(chunk: bytes) -> None:
        md5.update(chunk)
        if hasher is not None:
            hasher.update(chunk)

    written = web_download.fetch_to_file(url, path, limit, PURPOSE,
                                         headers=_headers(ref), observe=observe)
    if written != expected:
        raise exception.ImportFailed(reason=f"downloaded data size {written} is different "
                                            f"from expected {expected}")
    wanted = remote.record.get("os_hash_value")
    if hasher is not None and wanted and hasher.hexdigest() != wanted:
        raise exception.ImportFailed(reason="the downloaded data does not match the remote "
                                            f"image's {algo} hash")
    if remote.record.get("checksum") and md5.hexdigest() != remote.record["checksum"]:
        raise exception.ImportFailed(reason="the downloaded data does not match the remote "
                                            "image's checksum")
    return written
