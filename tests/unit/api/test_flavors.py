"""The paste factories OpenStack Glance's glance-api-paste.ini names, one by one, and
the start-up check of which application a flavor loads (with Glance's own file:
tests/glance33/test_paste.py)."""

import gzip
import json
from pathlib import Path

import pytest
import webob
import webob.dec
from oslo_config import cfg
from osprofiler import web as osprofiler_web
from paste import urlmap
from paste.deploy import loadapp

import glance.conf  # noqa: F401 - registers every option
from glance import image_cache
from glance.api import flavors, pipeline_factory, root_app_factory, versions, wsgi
from glance.api.middleware import cache, cache_manage
from glance.api.middleware import gzip as gzip_middleware
from glance.api.middleware import range as range_filter
from glance.api.v2 import router
from glance.services.cache import CacheState, Cleared
from tests.helpers import ROOT

CONF = cfg.CONF
OWN_PASTE = str(ROOT / "etc" / "glance-api-paste.ini")


@webob.dec.wsgify
def echo(request: webob.Request) -> webob.Response:
    """Answers with what it was called with (and fails on request)."""
    if request.path_info == "/boom":
        raise RuntimeError("boom")
    return webob.Response(json_body={
        "path": request.path_info, "script": request.script_name,
        "legacy_range": list(request.environ.get(range_filter.LEGACY_RANGE_ENV) or []),
        "content_range": request.headers.get("Content-Range"),
        "request_id": request.environ.get("openstack.request_id"),
        "trail": request.environ.get("test.trail", [])})


def echo_factory(global_conf, **local_conf):
    return echo


def marker_factory(global_conf, name: str):
    """A filter that appends ``name`` to the environ's trail."""

    def _filter(app):
        def _marked(environ, start_response):
            environ.setdefault("test.trail", []).append(name)
            return app(environ, start_response)
        return _marked

    return _filter


TEST_PASTE = f"""
[composite:glance-api]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: echo

[composite:glance-api-two]
paste.composite_factory = glance.api:root_app_factory
/: api

[composite:api]
paste.composite_factory = glance.api:pipeline_factory
default = one echo
two = one two echo

[filter:one]
paste.filter_factory = {__name__}:marker_factory
name = one

[filter:two]
paste.filter_factory = {__name__}:marker_factory
name = two

[app:echo]
paste.app_factory = {__name__}:echo_factory
"""


@pytest.fixture
def flavor():
    def _set(name):
        CONF.set_override("flavor", name, "paste_deploy")

    yield _set
    CONF.clear_override("flavor", "paste_deploy")
    CONF.clear_override("image_cache_dir")
    image_cache.cache_downloads(True)


@pytest.fixture
def test_paste(tmp_path) -> str:
    path = tmp_path / "paste.ini"
    path.write_text(TEST_PASTE)
    return str(path)


def _get(app, path: str, **kwargs) -> webob.Response:
    return webob.Request.blank(path, **kwargs).get_response(app)


def test_glance_api_names_the_factories():
    assert pipeline_factory is flavors.pipeline_factory
    assert root_app_factory is flavors.root_app_factory


@pytest.mark.parametrize(("name", "trail"), [(None, ["one"]), ("", ["one"]),
                                              ("two", ["one", "two"])])
def test_pipeline_factory_keys_on_the_flavor(flavor, test_paste, name, trail):
    flavor(name)
    app = loadapp(f"config:{test_paste}", name=flavors.check(test_paste, name))
    body = _get(app, "/x").json
    assert body["trail"] == trail


def test_pipeline_factory_adds_request_id_errors_and_range(flavor, test_paste):
    flavor(None)
    app = loadapp(f"config:{test_paste}", name="glance-api")
    response = _get(app, "/x", headers={"Content-Range": "bytes 1-2/*"})
    assert response.json["legacy_range"] == [1, 2, None]
    assert response.json["content_range"] is None
    assert response.headers["x-openstack-request-id"] == response.json["request_id"]
    assert response.json["request_id"].startswith("req-")
    failed = _get(app, "/boom")
    assert failed.status_int == 500 and "boom" not in failed.text
    assert "x-openstack-request-id" in failed.headers
    _assert_no_html_500(app)


def _assert_no_html_500(app) -> None:
    """The last-resort 500 is our error body for every Accept, never WebOb's HTML."""
    for accept, content_type in (("*/*", "text/plain"), ("text/html", "text/plain"),
                                 ("application/json", "application/json")):
        failed = webob.Request.blank("/boom", headers={"Accept": accept}).get_response(app)
        assert failed.status_int == 500
        assert failed.content_type == content_type, accept
        assert "<html" not in failed.text.lower() and "boom" not in failed.text
        if content_type == "application/json":
            assert failed.json["code"] == "500 Internal Server Error"


def test_our_paste_file_catches_errors_with_our_error_body(tmp_path):
    """etc/glance-api-paste.ini's catch_errors is ours (oslo.middleware's renders HTML)."""
    text = Path(OWN_PASTE).read_text()
    paste = tmp_path / "paste.ini"
    paste.write_text(text + "\n[pipeline:boom]\npipeline = request_id catch_errors echo\n"
                     "\n[app:echo]\npaste.app_factory = tests.unit.api.test_flavors:"
                     "echo_factory\n")
    app = loadapp(f"config:{paste}", name="boom")
    assert "x-openstack-request-id" in _get(app, "/boom").headers
    _assert_no_html_500(app)


def test_pipeline_factory_turns_download_caching_off(flavor, test_paste):
    flavor(None)
    CONF.set_override("image_cache_dir", "/nonexistent")
    loadapp(f"config:{test_paste}", name="glance-api")
    assert image_cache._for_downloads() is False


def test_root_app_factory_is_a_urlmap(flavor, test_paste):
    flavor(None)
    app = loadapp(f"config:{test_paste}", name="glance-api")
    assert isinstance(app, urlmap.URLMap)
    assert _get(app, "/healthcheck/x").json["script"] == "/healthcheck"


def test_versions_create_resource_answers_300():
    response = _get(versions.create_resource({}), "/")
    assert response.status_int == 300
    assert response.json["versions"][0]["id"] == "v2.18"


@pytest.mark.parametrize(("script", "path", "expected"), [
    ("/v2", "/images", ("", "/v2/images")),
    ("/image/v2", "/images/x/file", ("/image", "/v2/images/x/file")),
    ("", "/v2/images", ("", "/v2/images")),
    ("/image", "/v2/images", ("/image", "/v2/images")),
])
def test_router_takes_both_mountings(script, path, expected):
    environ = {"SCRIPT_NAME": script, "PATH_INFO": path}
    router.unmount(environ)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == expected


def test_cache_filter_needs_image_cache_dir(flavor):
    CONF.set_override("image_cache_dir", None)
    with pytest.raises(flavors.PasteConfigError, match="image_cache_dir"):
        cache.CacheFilter.factory({})


def test_cache_filter_turns_download_caching_on(flavor, tmp_path):
    CONF.set_override("image_cache_dir", str(tmp_path))
    image_cache.cache_downloads(False)
    wrap = cache.CacheFilter.factory({})
    assert wrap(echo) is echo
    assert image_cache._for_downloads() is True


class FakeCacheService:
    def __init__(self):
        self.calls = []

    def list(self, context):
        return CacheState([], ["q1"])

    def clear(self, context, target):
        self.calls.append(("clear", target))
        return Cleared(3 if target == "cache" else None, 2 if target == "queue" else None)

    def queue(self, context, image_id):
        self.calls.append(("queue", image_id))

    def delete(self, context, image_id):
        self.calls.append(("delete", image_id))


def test_cache_manage_controller_maps_onto_the_cache_service():
    service = FakeCacheService()
    controller = cache_manage.LegacyCacheController(service)
    request = wsgi.Request.blank("/", environ={"glance.context": None})
    image_id = "0b3a5d1e-35f7-4a3e-8f0e-2a8a5c7d9e11"
    assert controller.get_cached_images(request) == {"cached_images": []}
    assert controller.get_queued_images(request) == {"queued_images": ["q1"]}
    assert controller.delete_cached_images(request) == {"num_deleted": 3}
    assert controller.delete_queued_images(request) == {"num_deleted": 2}
    controller.queue_image(request, image_id)
    controller.delete_queued_image(request, image_id)
    assert service.calls == [("clear", "cache"), ("clear", "queue"), ("queue", image_id),
                             ("delete", image_id)]


def test_cache_manage_filter_passes_other_paths_on():
    app = cache_manage.CacheManageFilter(echo)
    assert _get(app, "/v2/images").json["path"] == "/v2/images"
    assert _get(app, "/v2/cached_images", method="POST").json["path"] == \
        "/v2/cached_images"
    assert app.mapper.match("/v2/queued_images/abc",
                            environ={"REQUEST_METHOD": "PUT"})["action"] == "queue_image"


def _json_app(status: int = 200, content_type: str = "application/json"):
    @webob.dec.wsgify
    def _app(request):
        response = webob.Response(status=status, content_type=content_type, charset=None)
        if status != 204:
            response.body = json.dumps({"a": "b" * 100}).encode()
        response.headers["Content-MD5"] = "abc"
        return response
    return _app


def test_gzip_filter_compresses_when_accepted():
    app = gzip_middleware.GzipMiddleware.factory({})(_json_app())
    plain = _get(app, "/")
    assert "Content-Encoding" not in plain.headers
    packed = _get(app, "/", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Content-MD5"] == "abc"
    assert json.loads(gzip.decompress(packed.body)) == {"a": "b" * 100}


def test_gzip_filter_streams_image_data_and_leaves_204_alone():
    data = gzip_middleware.GzipMiddleware(_json_app(content_type="application/octet-stream"))
    packed = _get(data, "/", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.body))["a"]
    empty = gzip_middleware.GzipMiddleware(_json_app(status=204))
    response = _get(empty, "/", headers={"Accept-Encoding": "gzip"})
    assert response.status_int == 204 and response.body == b""
    assert "Content-Encoding" not in response.headers


def test_osprofiler_filter_is_a_pass_through_when_profiling_is_off():
    app = osprofiler_web.WsgiMiddleware.factory({}, hmac_keys="secret")(echo)
    response = _get(app, "/x", headers={"X-Trace-Info": "x", "X-Trace-HMAC": "y"})
    assert response.json["path"] == "/x"


# --- which application a flavor loads --------------------------------------------


@pytest.mark.parametrize("name", [None, "", "noauth", "keystone", "keystone+cache",
                                  "keystone+caching", "keystone+cachemanagement"])
def test_our_file_serves_our_flavors(name):
    assert flavors.check(OWN_PASTE, name) == "glance-api"


@pytest.mark.parametrize("name", ["caching", "cachemanagement", "bogus"])
def test_our_file_refuses_other_flavors(name):
    with pytest.raises(flavors.PasteConfigError, match=f"has no app glance-api-{name}$"):
        flavors.check(OWN_PASTE, name)


def test_a_broken_factory_path_is_a_one_line_error(tmp_path):
    path = tmp_path / "paste.ini"
    path.write_text("[app:glance-api]\npaste.app_factory = glance.api:no_such_factory\n")
    with pytest.raises(flavors.PasteConfigError) as raised:
        flavors.check(str(path), None)
    assert "\n" not in str(raised.value) and "no_such_factory" in str(raised.value)
