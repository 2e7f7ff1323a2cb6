"""The image cache against a real glance-api (two workers): queue -> prefetch -> list
-> downloads served from the cache byte for byte (even with the store copy gone) ->
remove / clear; a whole download from a remote (http) store fills the cache; deleting
an image empties its cache entry; the LRU pruner; clean and prune on demand; policy
403s, 404s and bad input; and a node without a cache."""

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests import helpers
from tests.functional.http_source import HTTPSource

ADMIN, MEMBER, READER = helpers.ADMIN, helpers.MEMBER, helpers.READER
OTHER_MEMBER = helpers.OTHER_MEMBER
OCTETS = {"Content-Type": "application/octet-stream"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
REMOTE = os.urandom(300 * 1024 + 7)
LOOPBACK = {"allowed_hosts": "127.0.0.1", "allowed_ports": ""}


# -- a remote (http) store on 127.0.0.1 --------------------------------------------------

@pytest.fixture(scope="module")
def source() -> Iterator[HTTPSource]:
    with HTTPSource({"/remote": REMOTE}) as src:
        yield src


def _cache_sections(directory: Path, **extra: object) -> dict:
    return {"DEFAULT": {"image_cache_dir": directory, "cache_prefetcher_interval": "1",
                        "enabled_backends": "fs:file, web:http",
                        "show_multiple_locations": "True", **extra},
            "glance_store": {"default_backend": "fs"},
            "import_filtering_opts": LOOPBACK}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("image-cache")


@pytest.fixture(scope="module")
def cached(start_server, cache_dir):
    """glance with an image cache (prefetcher every second), a file and an http store."""
    return start_server(_cache_sections(cache_dir), name="image-cache")


# -- helpers -----------------------------------------------------------------------------

def create(server, headers=MEMBER, **attrs) -> str:
    body = {"name": "cache", "disk_format": "raw", "container_format": "bare", **attrs}
    response = requests.post(f"{server.url}/v2/images", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def active(server, data: bytes, headers=MEMBER, **attrs) -> str:
    image_id = create(server, headers, **attrs)
    response = requests.put(f"{server.url}/v2/images/{image_id}/file", data=data,
                            headers={**headers, **OCTETS})
    assert response.status_code == 204, response.text
    return image_id


def store_file(server, image_id: str) -> Path:
    """The file-store copy of an image's data."""
    image = requests.get(f"{server.url}/v2/images/{image_id}", headers=ADMIN).json()
    url = next(loc["url"] for loc in image["locations"] if loc["url"].startswith("file://"))
    return Path(url.removeprefix("file://"))


def cache_state(server, headers=ADMIN) -> dict:
    response = requests.get(f"{server.url}/v2/cache", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def cached_ids(server) -> list[str]:
    return [entry["image_id"] for entry in cache_state(server)["cached_images"]]


def queue(server, image_id: str, headers=ADMIN) -> requests.Response:
    return requests.put(f"{server.url}/v2/cache/{image_id}", headers=headers)


def clear(server, target: str | None = None, headers=ADMIN) -> requests.Response:
    extra = {} if target is None else {"x-image-cache-clear-target": target}
    return requests.delete(f"{server.url}/v2/cache", headers={**headers, **extra})


def wait_cached(server, image_id: str) -> dict:
    assert helpers.wait_until(lambda: image_id in cached_ids(server)), "not cached in time"
    return next(entry for entry in cache_state(server)["cached_images"]
                if entry["image_id"] == image_id)


def download(server, image_id: str, headers=MEMBER, **extra) -> requests.Response:
    return requests.get(f"{server.url}/v2/images/{image_id}/file",
                        headers={**headers, **extra})


# -- queue, prefetch, serve --------------------------------------------------------------

def test_queue_prefetch_and_serve_from_cache(cached, cache_dir):
    data = os.urandom(2 * 1024 * 1024 + 123)
    image_id = active(cached, data)
    started = time.time()
    response = queue(cached, image_id)
    assert (response.status_code, response.content) == (202, b"")
    entry = wait_cached(cached, image_id)
    assert entry["size"] == len(data) and entry["hits"] == 0
    assert started - 5 <= entry["last_modified"] <= time.time() + 5
    assert image_id not in cache_state(cached)["queued_images"]
    assert (cache_dir / image_id).read_bytes() == data
    assert not list((cache_dir / "incomplete").iterdir())
    # Take the store's copy away: downloads now can only come from the cache.
    store_file(cached, image_id).unlink()
    body = download(cached, image_id)
    assert body.status_code == 200 and body.content == data
    assert body.headers["Content-MD5"] == hashlib.md5(
        data, usedforsecurity=False).hexdigest()
    part = download(cached, image_id, Range="bytes=1000-1999")
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    entry = wait_cached(cached, image_id)
    assert entry["hits"] == 2 and entry["last_accessed"] >= entry["last_modified"]
    # Queueing a cached image changes nothing.
    assert queue(cached, image_id).status_code == 202
    assert image_id not in cache_state(cached)["queued_images"]
    gone = requests.delete(f"{cached.url}/v2/cache/{image_id}", headers=ADMIN)
    assert (gone.status_code, gone.content) == (204, b"")
    assert image_id not in cached_ids(cached) and not (cache_dir / image_id).exists()
    # Still a known image: removing it again is fine.
    again = requests.delete(f"{cached.url}/v2/cache/{image_id}", headers=ADMIN)
    assert again.status_code == 204


def test_whole_remote_download_fills_the_cache(cached, source):
    image_id = create(cached, ADMIN)
    response = requests.patch(
        f"{cached.url}/v2/images/{image_id}", headers={**ADMIN, **PATCH},
        json=[{"op": "add", "path": "/locations/-",
               "value": {"url": source.url("/remote"),
                         "metadata": {}}}])
    assert response.status_code == 200, response.text
    before = source.hits["/remote"]
    first = download(cached, image_id, ADMIN)
    assert first.status_code == 200 and first.content == REMOTE
    wait_cached(cached, image_id)
    assert source.hits["/remote"] == before + 1
    second = download(cached, image_id, ADMIN)
    assert second.status_code == 200 and second.content == REMOTE
    # From the cache the http store's image also serves ranges.
    part = download(cached, image_id, ADMIN, Range="bytes=100-199")
    assert part.status_code == 206 and part.content == REMOTE[100:200]
    assert source.hits["/remote"] == before + 1  # both served from the cache
    assert wait_cached(cached, image_id)["hits"] == 2


def test_deleting_an_image_removes_it_from_the_cache(cached, cache_dir):
    image_id = active(cached, os.urandom(4096))
    assert queue(cached, image_id).status_code == 202
    wait_cached(cached, image_id)
    assert requests.delete(f"{cached.url}/v2/images/{image_id}",
                           headers=MEMBER).status_code == 204
    assert image_id not in cached_ids(cached)
    assert not (cache_dir / image_id).exists()
    assert requests.delete(f"{cached.url}/v2/cache/{image_id}",
                           headers=ADMIN).status_code == 404


def test_an_image_the_store_cannot_serve_stays_queued(cached):
    image_id = active(cached, os.urandom(1024))
    store_file(cached, image_id).unlink()
    assert queue(cached, image_id).status_code == 202
    time.sleep(2.5)  # two prefetcher runs
    state = cache_state(cached)
    assert image_id in state["queued_images"] and image_id not in cached_ids(cached)
    # A queued (or cached) image can be removed even once the image is gone.
    assert requests.delete(f"{cached.url}/v2/images/{image_id}",
                           headers=MEMBER).status_code == 204
    assert image_id not in cache_state(cached)["queued_images"]


# -- clearing ----------------------------------------------------------------------------

def test_clear_targets(cached):
    kept = active(cached, os.urandom(2048))
    assert queue(cached, kept).status_code == 202
    wait_cached(cached, kept)
    stuck = active(cached, os.urandom(1024))
    store_file(cached, stuck).unlink()

    def requeue() -> None:
        assert queue(cached, stuck).status_code == 202
        assert stuck in cache_state(cached)["queued_images"]

    requeue()
    for bad in ("invalid", "caches", "all", "cache,queue"):
        response = clear(cached, bad)
        assert response.status_code == 400, bad
        assert "x-image-cache-clear-target" in response.text
    assert kept in cached_ids(cached)
    assert clear(cached, "queue").status_code == 204
    state = cache_state(cached)
    assert state["queued_images"] == [] and kept in cached_ids(cached)
    requeue()
    assert clear(cached, "CACHE").status_code == 204
    state = cache_state(cached)
    assert state["cached_images"] == [] and state["queued_images"] == [stuck]
    for target in (None, "", "both"):
        requeue()
        response = clear(cached, target)
        assert (response.status_code, response.content) == (204, b"")
        assert cache_state(cached) == {"cached_images": [], "queued_images": []}


# -- bad input and policy ----------------------------------------------------------------

def test_queue_refuses_unknown_and_inactive_images(cached):
    for missing in ("non-existing-image-id", "4bd4c9a8-5d1b-4a39-9d3b-0f6a1a1f8c11",
                    "%7B4bd4c9a8-5d1b-4a39-9d3b-0f6a1a1f8c11%7D"):
        assert queue(cached, missing).status_code == 404, missing
        assert requests.delete(f"{cached.url}/v2/cache/{missing}",
                               headers=ADMIN).status_code == 404, missing
    queued = create(cached)
    response = queue(cached, queued, headers={**ADMIN, "Accept": "application/json"})
    assert response.status_code == 400
    assert "active" in response.json()["message"]
    deactivated = active(cached, b"x" * 100)
    assert requests.post(f"{cached.url}/v2/images/{deactivated}/actions/deactivate",
                         headers=ADMIN).status_code == 204
    assert queue(cached, deactivated).status_code == 400
    assert cache_state(cached)["queued_images"] == []


def test_bodies_and_methods_are_refused(cached):
    image_id = active(cached, b"y" * 100)
    json_body = {"Content-Type": "application/json"}
    assert requests.put(f"{cached.url}/v2/cache/{image_id}", data=b"{}",
                        headers={**ADMIN, **json_body}).status_code == 400
    assert requests.delete(f"{cached.url}/v2/cache/{image_id}", data=b"{}",
                           headers={**ADMIN, **json_body}).status_code == 400
    assert requests.delete(f"{cached.url}/v2/cache", data=b"{}",
                           headers={**ADMIN, **json_body}).status_code == 400
    patch = requests.patch(f"{cached.url}/v2/cache", headers=ADMIN)
    assert patch.status_code == 405 and patch.headers["Allow"] == "GET, DELETE"
    post = requests.post(f"{cached.url}/v2/cache/{image_id}", headers=ADMIN)
    assert post.status_code == 405 and post.headers["Allow"] == "PUT, DELETE"
    assert cache_state(cached)["queued_images"] == []


@pytest.mark.parametrize("headers", [MEMBER, READER, OTHER_MEMBER],
                         ids=["owner_member", "owner_reader", "other_member"])
def test_only_administrators_manage_the_cache(cached, headers):
    image_id = active(cached, b"z" * 100, ADMIN, visibility="public")
    assert requests.get(f"{cached.url}/v2/cache", headers=headers).status_code == 403
    assert queue(cached, image_id, headers).status_code == 403
    assert requests.delete(f"{cached.url}/v2/cache/{image_id}",
                           headers=headers).status_code == 403
    assert clear(cached, headers=headers).status_code == 403
    assert clear(cached, "invalid", headers).status_code == 403  # policy comes first
    assert image_id not in cache_state(cached)["queued_images"]


def test_invisible_images_are_not_found(cached):
    private = active(cached, b"p" * 100)
    assert queue(cached, private).status_code == 202
    wait_cached(cached, private)
    assert queue(cached, private, OTHER_MEMBER).status_code == 404
    assert requests.delete(f"{cached.url}/v2/cache/{private}",
                           headers=OTHER_MEMBER).status_code == 404
    assert private in cached_ids(cached)
    assert requests.delete(f"{cached.url}/v2/cache/{private}",
                           headers=ADMIN).status_code == 204


def test_versions_offer_the_cache_versions(cached):
    ids = [v["id"] for v in requests.get(f"{cached.url}/").json()["versions"]]
    assert "v2.14" in ids and "v2.16" in ids
    assert requests.get(f"{cached.url}/v2.14/cache", headers=ADMIN).status_code == 200


# -- pruning -----------------------------------------------------------------------------

def test_the_least_recently_used_image_is_pruned(start_server, tmp_path_factory):
    directory = tmp_path_factory.mktemp("small-cache")
    server = start_server(_cache_sections(directory, image_cache_max_size=150 * 1024),
                          name="small-cache")
    data = [os.urandom(100 * 1024) for _ in range(2)]
    first, second = (active(server, item) for item in data)
    assert queue(server, first).status_code == 202
    wait_cached(server, first)
    assert queue(server, second).status_code == 202
    assert helpers.wait_until(lambda: cached_ids(server) == [second]), "not pruned in time"
    assert not (directory / first).exists() and (directory / second).exists()
    assert download(server, first).content == data[0]  # the store still serves it


def test_clean_and_prune_on_demand(start_server, tmp_path_factory):
    directory = tmp_path_factory.mktemp("on-demand-cache")
    server = start_server(_cache_sections(directory, image_cache_max_size=64 * 1024,
                                          cache_prefetcher_interval=3600, workers=1),
                          name="on-demand-cache")
    # The one worker's periodic job runs once at start-up, then not for an hour: let
    # that run end before putting files in place, so only the API calls touch them.
    assert cache_state(server)["cached_images"] == []
    time.sleep(1)
    invalid = directory / "invalid" / "4bd4c9a8-5d1b-4a39-9d3b-0f6a1a1f8c11"
    invalid.write_bytes(b"failed verification")
    # A file put there by hand (or by Glance's xattr driver) is adopted by the clean-up.
    adopted = directory / "0d1e2f3a-5d1b-4a39-9d3b-0f6a1a1f8c11"
    adopted.write_bytes(os.urandom(100 * 1024))
    for body in (None, b"{}"):
        response = requests.post(f"{server.url}/v2/cache/clean", data=body,
                                 headers={**ADMIN, "Content-Type": "application/json"})
        assert (response.status_code, response.json()) == (200, {})
    assert not invalid.exists() and cached_ids(server) == [adopted.name]
    response = requests.post(f"{server.url}/v2/cache/prune", headers=ADMIN)
    assert response.status_code == 200
    assert response.json() == {"total_files_pruned": 1, "total_bytes_pruned": 100 * 1024}
    assert not adopted.exists() and cached_ids(server) == []
    again = requests.post(f"{server.url}/v2/cache/prune", headers=ADMIN).json()
    assert again == {"total_files_pruned": 0, "total_bytes_pruned": 0}
    for path in ("clean", "prune"):
        url = f"{server.url}/v2/cache/{path}"
        assert requests.post(url, headers=MEMBER).status_code == 403
        assert requests.post(url, data=b'{"all": true}', headers={
            **ADMIN, "Content-Type": "application/json"}).status_code == 400
        assert requests.put(url, headers=ADMIN).status_code == 405


# -- a node without a cache --------------------------------------------------------------

def test_without_a_cache_the_api_is_not_found(server):
    image_id = active(server, b"n" * 10)
    response = requests.get(f"{server.url}/v2/cache",
                            headers={**ADMIN, "Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["message"] == "Caching via API is not supported at this site."
    assert requests.get(f"{server.url}/v2/cache", headers=MEMBER).status_code == 403
    assert queue(server, image_id).status_code == 404
    assert requests.delete(f"{server.url}/v2/cache/{image_id}",
                           headers=ADMIN).status_code == 404
    assert clear(server).status_code == 404
    for path in ("clean", "prune"):
        assert requests.post(f"{server.url}/v2/cache/{path}", headers=ADMIN).status_code == 404
    assert requests.get(f"{server.url}/v2.14/images", headers=ADMIN).status_code == 300
