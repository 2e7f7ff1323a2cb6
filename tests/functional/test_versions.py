"""Version discovery and negotiation (in-process paste app)."""

import pytest

from tests import helpers


def test_root_lists_versions_with_300(app):
    response = app.get("/", status=300)
    versions = response.json["versions"]
    assert versions[0] == {"id": "v2.18", "status": "CURRENT",
                           "links": [{"rel": "self", "href": "http://localhost/v2/"}]}
    ids = [v["id"] for v in versions]
    assert ids[-1] == "v2.0" and "v2.12" in ids and "v2.17" in ids and len(ids) == 17
    assert "v2.14" not in ids and "v2.16" not in ids  # the image cache versions
    assert [v["status"] for v in versions].count("CURRENT") == 1


def test_cache_versions_only_with_an_image_cache(app, override, tmp_path):
    app.get("/v2.14/images", headers=helpers.ADMIN, status=300)
    override("image_cache_dir", str(tmp_path))
    ids = [v["id"] for v in app.get("/", status=300).json["versions"]]
    assert len(ids) == 19 and "v2.14" in ids and "v2.16" in ids
    assert "images" in app.get("/v2.14/images", headers=helpers.ADMIN, status=200).json


def test_versions_path_is_200(app):
    assert app.get("/versions", status=200).json == app.get("/", status=300).json


@pytest.mark.parametrize("path", ["/v2.0/images", "/v2.18/images", "/v2/images"])
def test_supported_version_prefixes_route_to_v2(app, path):
    assert "images" in app.get(path, headers=helpers.ADMIN, status=200).json


@pytest.mark.parametrize("path", ["/v2.19/images", "/v1/images", "/v3/images"])
def test_unknown_version_answers_multiple_choices(app, path):
    assert "versions" in app.get(path, status=300).json


@pytest.mark.parametrize("tail", ["a%0Ab", "%0A", "x%0D%0A"])
def test_newline_in_a_path_segment_is_routed(app, tail):
    """A percent-encoded newline is part of a segment, not the end of the path."""
    image = "/v2/images/4bd4c9a8-5d1b-4a39-9d3b-0f6a1a1f8c11"
    app.get(f"{image}/members/{tail}", headers=helpers.ADMIN, status=404)
    app.get(f"/v2/metadefs/namespaces/{tail}", headers=helpers.ADMIN, status=404)


def test_accept_header_selects_version(app):
    headers = {**helpers.ADMIN, "Accept": "application/vnd.openstack.images-v2.1"}
    assert "images" in app.get("/images", headers=headers, status=200).json
    headers["Accept"] = "application/vnd.openstack.images-v2.19"
    app.get("/images", headers=headers, status=300)
    app.get("/images", status=300)


def test_v2_without_slash_redirects(app):
    response = app.get("/v2", status=302)
    assert response.location == "http://localhost/v2/"


def test_unknown_v2_path_is_404_with_message(app):
    response = app.get("/v2/unknown", headers={"Accept": "application/json"}, status=404)
    assert response.json["message"] == "The resource could not be found."
    assert response.json["code"] == "404 Not Found"


def test_healthcheck(app):
    assert app.get("/healthcheck", status=200).text.strip() == "OK"


def test_request_id_header(app):
    response = app.get("/v2/images", headers=helpers.ADMIN)
    assert response.headers["x-openstack-request-id"].startswith("req-")
