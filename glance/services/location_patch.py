"""Location checks shared by both location APIs, and JSON-patch on ``/locations``.

Every URL must belong to an enabled store. ``http(s)`` URLs must pass
``[import_filtering_opts]`` and must answer directly (no redirect) from an
allowed address; ``file://`` URLs must name a file inside a data directory of
the file store that no other image uses. The bytes behind an active image never
change: a new location must hold data of the image's size (and hashes, when
``validation_data`` is given), and replacing a non-empty list may only change
the order and the metadata (as Glance: the same set of URLs).

``LocationPatch`` is what ``ImageService.update`` applies for the ``/locations``
operations of a PATCH (only with ``[DEFAULT] show_multiple_locations``, and with
the status rules of ``glance.domain.image.LOCATION_RULES``);
``glance.services.locations`` is the v2.17 locations API.
"""

import hashlib
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from oslo_config import cfg
from oslo_log import log as logging

from glance import exception, quota, schema
from glance import store as image_store
from glance.domain import image as domain
from glance.services import web_download

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
CHUNK = 1024 * 1024
PURPOSE = "add location"


# -- checks shared by both APIs ----------------------------------------------------------

def location_item_schema() -> dict[str, Any]:
    """The image schema's ``locations`` item, as a named schema."""
    item = schema.image_schema()["properties"]["locations"]["items"]
    return {"name": "image", **item}


def is_service(context) -> bool:
    """Whether the caller holds the ``service`` role (Nova, Cinder)."""
    return "service" in (context.roles or [])


def _is_hex(value: str) -> bool:
    return bool(value) and all(char in string.hexdigits for char in value)


def _hash_algorithm(algo: Any, any_algorithm: bool) -> int:
    """Hex digits of ``algo``'s digests; 400 unless it is the configured algorithm
    (or, with ``any_algorithm``, a fixed-size hashlib algorithm)."""
    if algo == CONF.hashing_algorithm:
        return hashlib.new(algo).digest_size * 2
    if any_algorithm and isinstance(algo, str) and algo in hashlib.algorithms_available \
            and not algo.startswith("shake"):
        return hashlib.new(algo).digest_size * 2
    wanted = "a hashlib algorithm" if any_algorithm else CONF.hashing_algorithm
    raise exception.InvalidValidationData(reason=f"os_hash_algo must be {wanted}, not {algo}")


def check_validation_data(data: dict[str, Any] | None,
                          image: domain.Image | None = None,
                          any_algorithm: bool = False) -> dict[str, Any]:
    """Hash values a location claims: 409 when they contradict values ``image``
    already has, 400 when malformed. ``any_algorithm`` (the v2.17 API) accepts
    any fixed-size hashlib algorithm, not only ``hashing_algorithm``."""
    if not data:
        return {}
    if image is not None:
        for name in ("checksum", "os_hash_algo", "os_hash_value"):
            claim, current = data.get(name), getattr(image, name)
            if claim is not None and current is not None \
                    and str(claim).lower() != current.lower():
                raise exception.ValidationDataConflict(name=name, current=current, claim=claim)
    algo, value = data.get("os_hash_algo"), data.get("os_hash_value")
    checksum = data.get("checksum")
    claimed: dict[str, Any] = {}
    if algo is not None or value is not None or checksum is None:
        expected_len = _hash_algorithm(algo, any_algorithm)
        if not isinstance(value, str) or len(value) != expected_len or not _is_hex(value):
            raise exception.InvalidValidationData(
                reason=f"os_hash_value must be {expected_len} hexadecimal digits")
        claimed = {"os_hash_algo": algo, "os_hash_value": value.lower()}
    if checksum is not None:
        if not isinstance(checksum, str) or len(checksum) != 32 or not _is_hex(checksum):
            raise exception.InvalidValidationData(reason="checksum must be 32 hexadecimal digits")
        claimed["checksum"] = checksum.lower()
    return claimed


def _guarded_request(method: str, url: str) -> requests.Response:
    """One request to a user's http URL: filtered, no redirects, allowed peer only."""
    web_download.check(url, PURPOSE)
    timeout = CONF.image_import_opts.web_download_timeout
    session = requests.Session()
    session.trust_env = False
    try:
        response = session.request(method, url, stream=True, allow_redirects=False,
                                    timeout=(timeout, timeout))
    except requests.RequestException as err:
        session.close()
        raise exception.InvalidLocation(reason=f"{url} cannot be reached") from err
    peer = web_download._peer_address(response)  # noqa: SLF001 - the shared helper
    if peer is not None and not web_download.url_filter.address_allowed(
            peer, urlsplit(url).hostname):
        response.close()
        session.close()
        raise exception.URLRefused(purpose=PURPOSE, url=url)
    if response.status_code != 200:
        response.close()
        session.close()
        raise exception.InvalidLocation(
            reason=f"{url} answered HTTP {response.status_code} (redirects are not "
                   "followed)")
    return response


def data_size(target: image_store.LocationStore, context=None) -> int:
    """Bytes of data at a location (http: a guarded HEAD request)."""
    if not target.is_http:
        return image_store.location_size(target, context=context)
    with _guarded_request("HEAD", target.url) as response:
        length = response.headers.get("Content-Length", "")
    if not length.isdigit() or int(length) == 0:
        raise exception.InvalidLocation(
            reason=f"{target.url} does not tell the size of its data")
    return int(length)


def read_data(target: image_store.LocationStore, context=None) -> Iterator[bytes]:
    """The data at a location, in chunks (http: a guarded GET request)."""
    if not target.is_http:
        yield from image_store.get({"url": target.url, "metadata": target.metadata()},
                                   context=context)
        return
    with _guarded_request("GET", target.url) as response:
        yield from response.iter_content(CHUNK)


class LocationChecker:
    """Resolve a user's URL to its store, refusing other images' data."""

    def __init__(self, db) -> None:
        self.db = db

    def resolve(self, url: str, image_id: str) -> image_store.LocationStore:
        target = image_store.location_store(url)
        if target.is_http:
            web_download.check(url, PURPOSE)
        if target.path is not None:
            name = target.path.rsplit("/", 1)[-1]
            if (self.db.location_url_in_use(url, exclude_image_id=image_id)
                    or (name != image_id and self.db.image_id_taken(name))):
                raise exception.InvalidLocation(
                    reason="the file holds the data of another image")
        return target


# -- JSON-patch on /locations ------------------------------------------------------------

class LocationPatch:
    """The location operations of one PATCH, checked and applied to ``image`` in memory.

    ``save`` writes the image and its locations in one compare-and-set
    transaction (on the status the image had when read), then removes the data
    of the locations that went away.
    """

    def __init__(self, context, image: domain.Image, target: dict[str, Any],
                 db, enforcer, store=image_store) -> None:
        self.context = context
        self.image = image
        self.target = target
        self.db = db
        self.policy = enforcer
        self.store = store
        self.checker = LocationChecker(db)
        self.original_status = image.status
        self.locations = [{"id": loc.get("id"), "url": loc["url"],
                           "metadata": dict(loc.get("metadata") or {})}
                          for loc in image.locations if loc.get("status") == "active"]
        self.removed: list[dict[str, Any]] = []
        self.operations: list[str] = []

    @property
    def changed(self) -> bool:
        return bool(self.operations)

    # -- operations ---------------------------------------------------------------------

    def apply(self, op: str, path: tuple[str, ...], value: Any = None) -> None:
        """One JSON-patch operation on ``/locations`` or ``/locations/N``."""
        if op == "remove":
            self._remove(path)
        elif op == "replace" or len(path) == 1:
            self._replace(path, value)
        else:
            self._add(value)

    def _visible(self, action: str) -> None:
        if not CONF.show_multiple_locations:
            raise exception.LocationsHidden(action=action)

    def _add(self, value: Any) -> None:
        self._visible("add")
        self.policy.authorize(self.context, "set_image_location", self.target)
        domain.check_location_operation("add", self.image.status)
        schema.validate(location_item_schema(), value)
        self._check_quota(len(self.locations) + 1)
        if any(loc["url"] == value["url"] for loc in self.locations):
            raise exception.DuplicateLocation(url=value["url"])
        claimed = check_validation_data(value.get("validation_data"), self.image)
        self._take([value], claimed)
        self.operations.append("add")

    def _replace(self, path: tuple[str, ...], value: Any) -> None:
        self._visible("update")
        self.policy.authorize(self.context, "set_image_location", self.target)
        if len(path) != 1:
            raise exception.BadRequest("Only the whole list of locations (/locations) "
                                       "can be replaced.")
        schema.validate_property(schema.image_schema(), "locations", value)
        if not value:
            raise exception.EmptyLocations()
        domain.check_location_operation("replace", self.image.status)
        claimed: dict[str, Any] = {}
        for item in value:
            for name, claim in check_validation_data(item.get("validation_data"),
                                                     self.image).items():
                if claimed.setdefault(name, claim) != claim:
                    raise exception.InvalidValidationData(
                        reason=f"the locations disagree on {name}")
        urls = [item["url"] for item in value]
        if self.locations:
            self._rearrange(value)
        else:
            for url in urls:
                if urls.count(url) > 1:
                    raise exception.DuplicateLocation(url=url)
            self._check_quota(len(value))
            self._take(value, claimed)
        self.operations.append("replace")

    def _rearrange(self, value: list[dict[str, Any]]) -> None:
        """Replace a non-empty list: as Glance, only with the same URLs (any order, new
        metadata; each keeps its store); another set of URLs is 400."""
        current = [loc["url"] for loc in self.locations]
        if sorted(item["url"] for item in value) != sorted(current):
            raise exception.LocationsNotEmpty(urls=current)
        rows: dict[str, list[dict[str, Any]]] = {}
        for loc in self.locations:
            rows.setdefault(loc["url"], []).append(loc)
        arranged = []
        for item in value:
            row = rows[item["url"]].pop(0)
            metadata = dict(item["metadata"])
            if row["metadata"].get("store"):
                metadata["store"] = row["metadata"]["store"]
            arranged.append({"id": row["id"], "url": item["url"], "metadata": metadata})
        self.locations = arranged

    def _remove(self, path: tuple[str, ...]) -> None:
        self._visible("remove")
        self.policy.authorize(self.context, "delete_image_location", self.target)
        domain.check_location_operation("remove", self.image.status)
        if len(path) != 2 or not path[1].isdigit():
            raise exception.BadRequest("A location is removed by its index: "
                                       "/locations/N.")
        index = int(path[1])
        if index >= len(self.locations):
            raise exception.BadRequest(f"Invalid location index {index}: the image has "
                                       f"{len(self.locations)} locations.")
        if len(self.locations) == 1:
            raise exception.LastLocation()
        self.removed.append(self.locations.pop(index))
        self.operations.append("remove")

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _check_quota(count: int) -> None:
        maximum = CONF.image_location_quota
        if 0 <= maximum < count:
            raise exception.LimitExceeded(what="image locations", attempted=count,
                                          maximum=maximum)

    def _take(self, items: list[dict[str, Any]], claimed: dict[str, Any]) -> None:
        """Check new locations against their stores, then add them to the image."""
        image = self.image
        if image.status == "queued":
            domain.check_formats(image)
        sizes: list[int] = []
        for item in items:
            target = self.checker.resolve(item["url"], image.id)
            size = data_size(target, self.context)
            if image.size is not None and size != image.size:
                raise exception.InvalidLocation(
                    reason=f"the data at {item['url']} is {size} bytes, the image's "
                           f"{image.size}")
            if sizes and size != sizes[0]:
                raise exception.InvalidLocation(
                    reason="the locations hold data of different sizes")
            sizes.append(size)
            metadata = dict(item["metadata"])
            metadata.update(target.metadata())
            self.locations.append({"id": None, "url": item["url"], "metadata": metadata})
        used = (self.db.owner_storage_usage(image.owner, image.id)
                if quota.storage_quota() > 0 else None)
        quota.upload_limit(used).check(sizes[0] * len(self.locations))
        if image.status == "queued":
            domain.check_transition("queued", "active")
            image.status = "active"
            image.size = sizes[0]
            for name, claim in claimed.items():
                setattr(image, name, claim)

    # -- write --------------------------------------------------------------------------

    def save(self, values: dict[str, Any], properties: dict[str, str],
             tags: list[str]) -> dict[str, Any]:
        """Write the image and its locations; then drop the removed locations' data."""
        removed_status = "pending_delete" if CONF.delayed_delete else "deleted"
        locations, released = _in_row_order(self.locations)
        try:
            record = self.db.image_update_with_locations(
                self.context, self.image.id, values, locations,
                expected_status=self.original_status, properties=properties, tags=tags,
                removed_status=removed_status, released_ids=released)
        except exception.InvalidImageStatusTransition:
            current = self.db.image_get(self.context, self.image.id)["status"]
            for operation in self.operations:
                domain.check_location_operation(operation, current)
            raise
        if removed_status == "deleted":
            for location in self.removed:
                self._drop_data(location)
        return record

    def _drop_data(self, location: dict[str, Any]) -> None:
        url = location["url"]
        if urlsplit(url).scheme in ("http", "https") or self.db.location_url_in_use(url):
            return
        self.store.delete(location, context=self.context)


def _in_row_order(locations: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """``locations`` as rows to write, and the ids of the rows they release.

    An image's locations come back in row order, so a row is kept only while the
    kept ids still rise and no new row came before it; the rest are written as new
    rows (their old rows are released: deleted, their data left alone).
    """
    rows: list[dict[str, Any]] = []
    released: list[int] = []
    last, fresh = -1, False
    for loc in locations:
        loc_id = loc.get("id")
        if loc_id is None:
            fresh = True
        elif fresh or loc_id < last:
            released.append(loc_id)
            loc, fresh = {**loc, "id": None}, True
        else:
            last = loc_id
        rows.append(loc)
    return rows, released
