"""The real ``glance-api`` process over HTTP: raw requests, python-glanceclient's CLI,
openstacksdk, and concurrent writers on the embedded SQLite database."""

import concurrent.futures
import json
import uuid

import openstack
import requests

from tests import helpers


def test_versions_and_crud_over_http(server):
    root = requests.get(server.url + "/")
    assert root.status_code == 300
    assert root.json()["versions"][0]["links"][0]["href"] == server.url + "/v2/"
    created = requests.post(server.url + "/v2/images", headers=helpers.MEMBER,
                            json={"name": "http", "tags": ["a"], "k": "v"})
    assert created.status_code == 201
    assert created.headers["Location"] == f"{server.url}/v2/images/{created.json()['id']}"
    assert created.headers["x-openstack-request-id"].startswith("req-")
    image_url = f"{server.url}/v2/images/{created.json()['id']}"
    patched = requests.patch(
        image_url, headers={**helpers.MEMBER, "Content-Type":
                            "application/openstack-images-v2.1-json-patch"},
        data=json.dumps([{"op": "replace", "path": "/k", "value": "w"}]))
    assert patched.status_code == 200 and patched.json()["k"] == "w"
    assert requests.get(image_url, headers=helpers.READER).json()["k"] == "w"
    assert requests.delete(image_url, headers=helpers.MEMBER).status_code == 204
    assert requests.get(image_url, headers=helpers.MEMBER).status_code == 404


def test_chunked_json_body(server):
    def body():
        yield b'{"name": '
        yield b'"chunked"}'
    response = requests.post(server.url + "/v2/images", data=body(),
                             headers={**helpers.MEMBER, "Content-Type": "application/json"})
    assert response.status_code == 201 and response.json()["name"] == "chunked"


def test_glanceclient_cli(server):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    out = helpers.glance_cli(server, "image-create", "--name", name, "--disk-format", "raw",
                  "--container-format", "bare", "--property", "k=v")
    image_id = helpers.table_field(out, "id")
    assert name in helpers.glance_cli(server, "image-list")
    shown = helpers.glance_cli(server, "image-show", image_id)
    assert "| k " in shown and "queued" in shown
    updated = helpers.glance_cli(server, "image-update", image_id, "--name", name + "-2",
                      "--property", "k2=v2")
    assert name + "-2" in updated and "v2" in updated
    helpers.glance_cli(server, "image-tag-update", image_id, "tagged")
    assert "tagged" in helpers.glance_cli(server, "image-show", image_id)
    helpers.glance_cli(server, "image-delete", image_id)
    assert image_id not in helpers.glance_cli(server, "image-list")


def test_openstacksdk(server):
    conn = openstack.connect(auth_type="none", auth={"endpoint": server.url},
                             image_endpoint_override=server.url)
    image = conn.image.create_image(name="sdk", disk_format="qcow2",
                                    container_format="bare", tags=["x"], foo="bar")
    assert image.status == "queued" and image.properties["foo"] == "bar"
    assert image.id in [i.id for i in conn.image.images()]
    updated = conn.image.update_image(image, name="sdk2", foo="baz")
    assert updated.name == "sdk2" and updated.properties["foo"] == "baz"
    conn.image.add_tag(image, "y")
    assert sorted(conn.image.get_image(image).tags) == ["x", "y"]
    conn.image.delete_image(image)
    assert conn.image.find_image(image.id) is None


def test_concurrent_writers_never_fail(server):
    """Eight clients creating, patching and deleting at once on SQLite: no errors."""
    project = helpers.identity("member,reader", project=uuid.uuid4().hex)

    def worker(n: int) -> list[int]:
        statuses = []
        with requests.Session() as session:
            for i in range(15):
                created = session.post(server.url + "/v2/images", headers=project,
                                       json={"name": f"w{n}-{i}", "tags": ["c"], "p": "1"})
                statuses.append(created.status_code)
                if created.status_code != 201:
                    continue
                url = f"{server.url}/v2/images/{created.json()['id']}"
                statuses.append(session.patch(
                    url, data=json.dumps([{"op": "add", "path": "/q", "value": str(i)}]),
                    headers={**project, "Content-Type":
                             "application/openstack-images-v2.1-json-patch"}).status_code)
                statuses.append(session.put(url + "/tags/t", headers=project).status_code)
                if i % 2:
                    statuses.append(session.delete(url, headers=project).status_code)
        return statuses

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = [s for statuses in pool.map(worker, range(8)) for s in statuses]
    assert results and all(s < 300 for s in results), sorted(set(results))
    listed = requests.get(server.url + "/v2/images?limit=1000", headers=project).json()
    assert len(listed["images"]) == 8 * 8  # the even-numbered half of 15 per worker


def test_bad_input_never_500(server):
    cases = [
        ("POST", "/v2/images", "[]"),
        ("POST", "/v2/images", "[" * 60000),
        ("POST", "/v2/images", "\xff\xfe"),
        ("GET", "/v2/images/%FF%FE", None),
        ("GET", "/v2/images?limit=" + "9" * 5000, None),
        ("GET", "/v2/images?created_at=gt:" + "9" * 500, None),
        ("PATCH", f"/v2/images/{uuid.uuid4()}", "[]"),
        ("DELETE", "/v2/images/" + "x" * 5000, None),
    ]
    for method, path, body in cases:
        response = requests.request(method, server.url + path, data=body,
                                    headers={**helpers.MEMBER,
                                             "Content-Type": "application/json",
                                             "Accept": "application/json"})
        assert 400 <= response.status_code < 500, (method, path, response.status_code,
                                                   response.text[:300])
        assert "Traceback" not in response.text
