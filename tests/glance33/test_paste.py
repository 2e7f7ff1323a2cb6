"""OpenStack Glance 33's stock glance-api-paste.ini, copied unchanged, runs glance.

Every flavor it defines starts the real ``glance-api`` and answers as Glance's
pipeline does for that flavor: the default and cache flavors with Glance's
``unauthenticated-context`` (403 for nearly everything under the default
policies), the keystone flavors behind a real Keystone (tests/keystone/harness.py);
the cache flavors serve downloads from the image cache. Also: an operator's added
filters, the WSGI entry, and a flavor the file lacks (a one-line start-up error).
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from oslo_config import cfg

from glance.api import flavors
from tests import helpers
from tests.glance33 import harness
from tests.keystone import conftest as keystone_tier
from tests.keystone.harness import REGION

# The Keystone tier's fixtures, used here too.
keystone = keystone_tier.keystone
admin_client = keystone_tier.admin_client
identities = keystone_tier.identities

DATA = os.urandom(300 * 1024)
CACHE_VERSIONS = {"v2.14", "v2.16"}
# What the unauthenticated flavors need to move image data: an operator's policy
# file (Glance's default policies refuse all of it to a context without roles).
OPEN_POLICY = {rule: "" for rule in ("get_images", "get_image", "add_image",
                                     "upload_image", "download_image", "modify_image",
                                     "delete_image", "cache_image", "cache_list")}
STAND_IN = b"x" * len(DATA)  # written over a cached copy: only the cache has it


@pytest.fixture(scope="module")
def glance_paste(glance33_venv) -> str:
    return str(harness.etc_dir() / "glance-api-paste.ini")


def _copy(tmp_path_factory, source: str, edit=None) -> str:
    """A copy of Glance's file (unchanged unless ``edit`` rewrites its text)."""
    text = Path(source).read_text()
    path = tmp_path_factory.mktemp("paste") / "glance-api-paste.ini"
    path.write_text(edit(text) if edit else text)
    return str(path)


def _sections(paste_file: str, flavor: str | None, **extra: dict) -> dict:
    sections = {"DEFAULT": {"workers": 1},
                "paste_deploy": {"config_file": paste_file, "flavor": flavor or ""}}
    for section, values in extra.items():
        sections.setdefault(section, {}).update(values)
    return sections


def _call(server, method: str, path: str, token: str | None = None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["X-Auth-Token"] = token
    return requests.request(method, server.url + path, headers=headers, timeout=60,
                            **kwargs)


def _version_ids(server) -> set[str]:
    return {v["id"] for v in _call(server, "GET", "/versions").json()["versions"]}


def _upload(server, token: str | None = None) -> str:
    created = _call(server, "POST", "/v2/images", token, json={
        "name": "paste", "disk_format": "raw", "container_format": "bare"})
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = _call(server, "PUT", f"/v2/images/{image_id}/file", token, data=DATA,
                     headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return image_id


def _download(server, image_id: str, token: str | None = None) -> bytes:
    response = _call(server, "GET", f"/v2/images/{image_id}/file", token)
    assert response.status_code == 200, response.text
    return response.content


def _cached(cache_dir: Path, image_id: str) -> bool:
    return (cache_dir / image_id).is_file()


def _prefetch(server, cache_dir: Path, image_id: str, token: str | None = None) -> None:
    """Queue the image for this node's cache, wait for the prefetcher, then replace
    the cached copy by STAND_IN."""
    queued = _call(server, "PUT", f"/v2/cache/{image_id}", token)
    assert queued.status_code == 202, queued.text

    def listed() -> bool:
        found = _call(server, "GET", "/v2/cache", token).json()["cached_images"]
        return image_id in [entry["image_id"] for entry in found]

    assert helpers.wait_until(listed, timeout=30)
    assert _cached(cache_dir, image_id)
    (cache_dir / image_id).write_bytes(STAND_IN)


# --- the start-up check on Glance's file (no server) ------------------------------


@pytest.fixture
def cache_dir_option(tmp_path):
    cfg.CONF.set_override("image_cache_dir", str(tmp_path))
    yield cfg.CONF
    cfg.CONF.clear_override("image_cache_dir")


@pytest.mark.parametrize("flavor", ["", "keystone", "caching", "cachemanagement",
                                    "keystone+caching", "keystone+cachemanagement"])
def test_every_flavor_of_glance_file_passes_the_check(glance_paste, cache_dir_option,
                                                      flavor):
    expected = f"glance-api-{flavor}" if flavor else "glance-api"
    assert flavors.check(glance_paste, flavor) == expected


def test_flavors_glance_file_lacks_are_one_line_errors(glance_paste, tmp_path):
    with pytest.raises(flavors.PasteConfigError) as raised:
        flavors.check(glance_paste, "bogus")
    assert str(raised.value) == (f"[paste_deploy] flavor = bogus: paste file {glance_paste} "
                                 "has no app glance-api-bogus")
    # our development flavor: the file's keystone pipeline with our noauth filter
    assert flavors.check(glance_paste, "noauth") == "glance-api"
    no_keystone = tmp_path / "no-keystone-paste.ini"
    no_keystone.write_text(Path(glance_paste).read_text().replace("\nkeystone = ",
                                                                  "\nsomething = "))
    with pytest.raises(flavors.PasteConfigError, match="no pipeline 'noauth'"):
        flavors.check(no_keystone, "noauth")


# --- the flavors without keystone ------------------------------------------------


@pytest.fixture(scope="module")
def unauthenticated(start_server, tmp_path_factory, glance_paste):
    """glance-api on Glance's file with each flavor that has no keystone."""
    servers = {}
    for flavor in ("", "caching", "cachemanagement"):
        extra = {"cors": {"allowed_origin": "https://dashboard.example"},
                 "oslo_middleware": {"enable_proxy_headers_parsing": "true"}}
        if flavor:
            extra["DEFAULT"] = {"image_cache_dir": str(
                tmp_path_factory.mktemp("cache") / "cache"), "cache_prefetcher_interval": 1}
        servers[flavor] = start_server(
            _sections(_copy(tmp_path_factory, glance_paste), flavor, **extra),
            name=f"g33-{flavor or 'default'}")
    return servers


@pytest.mark.parametrize("flavor", ["", "caching", "cachemanagement"])
def test_unauthenticated_flavors_answer_as_glance(unauthenticated, flavor):
    server = unauthenticated[flavor]
    assert _call(server, "GET", "/").status_code == 300
    assert _call(server, "GET", "/versions").status_code == 200
    assert _call(server, "GET", "/healthcheck").status_code == 200
    assert _call(server, "GET", "/v2/schemas/image").status_code == 200
    assert (CACHE_VERSIONS <= _version_ids(server)) is bool(flavor)
    # unauthenticated-context: an admin context without roles, whatever is sent.
    for headers in ({}, helpers.ADMIN):
        listed = _call(server, "GET", "/v2/images", headers=dict(headers))
        assert listed.status_code == 403, listed.text
        assert listed.headers["x-openstack-request-id"].startswith("req-")
        assert "Traceback" not in listed.text
        assert _call(server, "POST", "/v2/images", json={},
                     headers=dict(headers)).status_code == 403
    # Glance's cachemanage filter answers the old cache calls (policy: admin -> 403).
    expected = 403 if flavor == "cachemanagement" else 404
    assert _call(server, "GET", "/v2/cached_images").status_code == expected


def test_noauth_on_glance_file_trusts_the_identity_headers(start_server,
                                                           tmp_path_factory, glance_paste):
    """Our development flavor also works with Glance's file (Glance itself refuses
    to start with it): its keystone pipeline, our noauth filter for authtoken."""
    server = start_server(_sections(_copy(tmp_path_factory, glance_paste), "noauth"),
                          name="g33-noauth")
    created = _call(server, "POST", "/v2/images", headers=dict(helpers.MEMBER), json={
        "name": "noauth", "disk_format": "raw", "container_format": "bare"})
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    assert _call(server, "PUT", f"/v2/images/{image_id}/file", data=DATA, headers={
        **helpers.MEMBER, "Content-Type": "application/octet-stream"}).status_code == 204
    downloaded = _call(server, "GET", f"/v2/images/{image_id}/file",
                       headers=dict(helpers.MEMBER))
    assert downloaded.status_code == 200 and downloaded.content == DATA
    other = {**helpers.MEMBER, "X-Project-Id": "another-project"}
    assert _call(server, "GET", f"/v2/images/{image_id}",
                 headers=other).status_code == 404
    reader = {**helpers.MEMBER, "X-Roles": "reader"}
    assert _call(server, "POST", "/v2/images", json={},
                 headers=reader).status_code == 403
    assert "Identity is NOT verified" in server.log_path.read_text()


def test_glance_file_reads_cors_and_proxy_headers_from_our_config(unauthenticated):
    """Glance's [filter:cors] loads its own configuration (oslo_config_project):
    it gets glance-api.conf's [cors], as our file's filter does."""
    server = unauthenticated[""]
    preflight = _call(server, "OPTIONS", "/v2/images", headers={
        "Origin": "https://dashboard.example", "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://dashboard.example"
    other = _call(server, "OPTIONS", "/v2/images", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in other.headers
    behind_proxy = _call(server, "GET", "/versions", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "images.example"})
    assert behind_proxy.json()["versions"][0]["links"][0]["href"] == \
        "https://images.example/v2/"


@pytest.fixture(scope="module")
def open_caching(start_server, tmp_path_factory, glance_paste):
    """The ``caching`` flavor with an operator's policy file that opens image data."""
    directory = tmp_path_factory.mktemp("open-policy")
    policy_file = directory / "policy.yaml"
    policy_file.write_text(json.dumps(OPEN_POLICY))
    cache_dir = directory / "cache"
    server = start_server(_sections(
        _copy(tmp_path_factory, glance_paste), "caching",
        DEFAULT={"image_cache_dir": str(cache_dir), "cache_prefetcher_interval": 1},
        oslo_policy={"policy_file": str(policy_file)}), name="g33-open-caching")
    return server, cache_dir


def test_caching_flavor_fills_and_serves_the_cache(open_caching):
    server, cache_dir = open_caching
    image_id = _upload(server)
    assert _download(server, image_id) == DATA
    _prefetch(server, cache_dir, image_id)
    assert _download(server, image_id) == STAND_IN
    assert _call(server, "DELETE", f"/v2/images/{image_id}").status_code == 204
    assert not _cached(cache_dir, image_id)


# --- an operator's own filters in Glance's file ----------------------------------


def _add_filters(text: str) -> str:
    text = text.replace(
        "default = cors http_proxy_to_wsgi versionnegotiation",
        "default = cors sizelimit gzip http_proxy_to_wsgi versionnegotiation")
    return text + ("\n[filter:sizelimit]\n"
                   "paste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory\n")


def test_operator_added_filters_load_and_work(start_server, tmp_path_factory,
                                              glance_paste):
    server = start_server(_sections(
        _copy(tmp_path_factory, glance_paste, _add_filters), None,
        oslo_middleware={"max_request_body_size": 2048}), name="g33-filters")
    too_big = _call(server, "POST", "/v2/images", data=b"{" + b" " * 4096 + b"}",
                    headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413
    packed = _call(server, "GET", "/versions", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.json()["versions"]
    assert "Content-Encoding" not in _call(server, "GET", "/versions",
                                           headers={"Accept-Encoding": "identity"}).headers


# --- start-up errors and the WSGI entry ------------------------------------------


def _start_up(tmp_path_factory, sections: dict) -> subprocess.CompletedProcess:
    config = helpers.write_config(tmp_path_factory.mktemp("bad-flavor"), sections)
    return subprocess.run([sys.executable, "-m", "glance.cmd.api", "--config-file",
                           str(config)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("flavor", "message"), [
    ("bogus", "has no app glance-api-bogus"),
    ("caching", "the cache filter needs [DEFAULT] image_cache_dir"),
])
def test_a_flavor_the_file_cannot_serve_stops_start_up(tmp_path_factory, glance_paste,
                                                       flavor, message):
    paste_file = _copy(tmp_path_factory, glance_paste)
    result = _start_up(tmp_path_factory, _sections(paste_file, flavor))
    assert result.returncode == 1
    # (stderr may also hold warnings Python prints while importing the libraries)
    lines = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ERROR: [paste_deploy] flavor = {flavor}: paste file "
                               f"{paste_file}")
    assert message in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


WSGI_PROBE = """
import json, webtest
from glance.wsgi.api import application
app = webtest.TestApp(application)
print(json.dumps({path: app.get(path, expect_errors=True).status_int
                  for path in ("/", "/versions", "/healthcheck", "/v2/images")}))
"""


def test_wsgi_entry_with_glance_file(tmp_path_factory, glance_paste):
    directory = tmp_path_factory.mktemp("wsgi")
    config = helpers.write_config(directory, _sections(
        _copy(tmp_path_factory, glance_paste), "cachemanagement",
        DEFAULT={"image_cache_dir": str(directory / "cache")}))
    result = subprocess.run([sys.executable, "-c", WSGI_PROBE], capture_output=True,
                            text=True, timeout=120, cwd=helpers.ROOT,
                            env={**os.environ, "OS_GLANCE_CONFIG_FILE": str(config)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "/": 300, "/versions": 200, "/healthcheck": 200, "/v2/images": 403}


# --- the keystone flavors, against a real Keystone ---------------------------------


@pytest.fixture(scope="module")
def keystone_glance(start_server, tmp_path_factory, glance_paste, keystone, identities,
                    admin_client):
    """glance-api on Glance's file for each keystone flavor; all with a cache dir."""
    if os.environ.get("GLANCE_SKIP_KEYSTONE"):
        pytest.skip("GLANCE_SKIP_KEYSTONE is set")
    authtoken = {
        "www_authenticate_uri": keystone.url, "auth_url": keystone.url,
        "auth_type": "password", "username": "glance", "password": keystone_tier.SERVICE_PASSWORD,
        "project_name": "service", "user_domain_id": "default",
        "project_domain_id": "default", "region_name": REGION}
    servers = {}
    for flavor, anonymous in (("keystone", False), ("keystone+caching", False),
                              ("keystone+cachemanagement", False),
                              ("keystone", True)):
        cache_dir = tmp_path_factory.mktemp("cache") / "cache"
        default = {"image_cache_dir": str(cache_dir), "cache_prefetcher_interval": 1}
        if anonymous:
            default["allow_anonymous_access"] = "true"
        server = start_server(_sections(
            _copy(tmp_path_factory, glance_paste), flavor, DEFAULT=default,
            keystone_authtoken=authtoken), name=f"g33-{flavor}")
        server.cache_dir = cache_dir
        servers[flavor + ("-anonymous" if anonymous else "")] = server
    return servers


@pytest.fixture(scope="module")
def tokens(identities) -> dict[str, str]:
    return {name: identities[name].token()
            for name in ("alice-admin", "alice-member", "alice-reader")}


@pytest.mark.parametrize("flavor", ["keystone", "keystone+caching",
                                    "keystone+cachemanagement"])
def test_keystone_flavors_authenticate_with_tokens(keystone_glance, keystone, tokens,
                                                   identities, flavor):
    server = keystone_glance[flavor]
    assert _call(server, "GET", "/versions").status_code == 200
    assert _call(server, "GET", "/healthcheck").status_code == 200
    for token in (None, "not-a-token"):
        refused = _call(server, "GET", "/v2/images", token)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}"'
    spoofed = _call(server, "GET", "/v2/images", headers={
        "X-Identity-Status": "Confirmed", "X-Roles": "admin"})
    assert spoofed.status_code == 401
    assert _call(server, "POST", "/v2/images", tokens["alice-reader"],
                 json={}).status_code == 403
    listed = _call(server, "GET", "/v2/images", tokens["alice-reader"])
    assert listed.status_code == 200
    assert listed.headers["x-openstack-request-id"].startswith("req-")
    image_id = _upload(server, tokens["alice-member"])
    shown = _call(server, "GET", f"/v2/images/{image_id}", tokens["alice-member"]).json()
    assert shown["owner"] == identities["alice-member"].project_id
    assert shown["file"] == f"/v2/images/{image_id}/file"
    assert _download(server, image_id, tokens["alice-member"]) == DATA
    ranged = _call(server, "GET", f"/v2/images/{image_id}/file", tokens["alice-member"],
                   headers={"Content-Range": "bytes 0-9/*"})
    assert ranged.status_code == 206 and ranged.content == DATA[:10]
    _prefetch(server, server.cache_dir, image_id, tokens["alice-admin"])
    # As in Glance: only a pipeline with the cache filter serves downloads from it.
    served = _download(server, image_id, tokens["alice-member"])
    assert served == (DATA if flavor == "keystone" else STAND_IN)


def test_keystone_cachemanagement_answers_the_old_cache_calls(keystone_glance, tokens):
    server = keystone_glance["keystone+cachemanagement"]
    admin = tokens["alice-admin"]
    image_id = _upload(server, tokens["alice-member"])
    _prefetch(server, server.cache_dir, image_id, admin)
    listed = _call(server, "GET", "/v2/cached_images", admin)
    assert listed.status_code == 200
    assert image_id in [c["image_id"] for c in listed.json()["cached_images"]]
    assert _call(server, "GET", "/v2/cached_images",
                 tokens["alice-member"]).status_code == 403
    assert _call(server, "DELETE", f"/v2/cached_images/{image_id}", admin).json() is None
    assert not _cached(server.cache_dir, image_id)
    queued = _call(server, "PUT", f"/v2/queued_images/{image_id}", admin)
    assert queued.status_code == 200, queued.text
    assert _call(server, "GET", "/v2/queued_images", admin).status_code == 200
    assert _call(server, "DELETE", "/v2/queued_images", admin).json().keys() == {
        "num_deleted"}
    assert _call(server, "DELETE", "/v2/cached_images", admin).json().keys() == {
        "num_deleted"}


def test_allow_anonymous_access_gives_read_only_access(keystone_glance, tokens):
    server = keystone_glance["keystone-anonymous"]
    assert _call(server, "GET", "/v2/schemas/image").status_code == 200
    # Glance 33 answers these two 403 as well: the policies refuse the anonymous
    # caller, and writes are refused before the policies look.
    assert _call(server, "GET", "/v2/images").status_code == 403
    written = _call(server, "POST", "/v2/images", json={})
    assert written.status_code == 403 and "Read-only access" in written.text
    assert _call(server, "DELETE", f"/v2/images/{uuid.uuid4()}").status_code == 403
    assert _call(server, "GET", "/v2/images", tokens["alice-reader"]).status_code == 200
