"""The definitions loader against the in-process app's database, and the same over a
real glance-api server."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from glance import exception
from glance.metadefs import loader
from tests import helpers

NS_URL = "/v2/metadefs/namespaces"
SHIPPED = Path(__file__).resolve().parents[2] / "etc" / "metadefs"
A = helpers.ADMIN


def _catalog(app) -> dict:
    """Every namespace in full, without timestamps (for identity comparisons)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()
                    if k not in ("created_at", "updated_at")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    names = [n["namespace"] for n in app.get(f"{NS_URL}?limit=1000",
                                             headers=A).json["namespaces"]]
    return {name: strip(app.get(f"{NS_URL}/{name}", headers=A).json) for name in names}


@pytest.fixture
def loaded(app):
    loader.unload()
    report = loader.load()
    yield report
    loader.unload()


def test_load_shipped_catalog(app, loaded):
    assert len(loaded.created) == len(list(SHIPPED.glob("*.json")))
    doc = app.get(f"{NS_URL}/OS::Compute::Hypervisor", headers=helpers.READER).json
    assert "vz" in doc["properties"]["hypervisor_type"]["enum"]
    prop = app.get(f"{NS_URL}/OS::Compute::Hypervisor/properties/hypervisor_type",
                   headers=A).json
    assert "vz" in prop["enum"]
    first = app.get(NS_URL, headers=A).json
    assert len(first["namespaces"]) == 25 and "marker=" in first["next"]
    # Loading again without merge skips every namespace.
    again = loader.load()
    assert again.created == [] and len(again.skipped) == len(loaded.created)


def test_export_unload_load_identity(app, loaded, tmp_path):
    before = _catalog(app)
    written = loader.export(str(tmp_path))
    assert len(written) == len(before)
    assert loader.unload() == len(before)
    assert _catalog(app) == {}
    report = loader.load(str(tmp_path))
    assert sorted(report.created) == sorted(before)
    assert _catalog(app) == before
    # And the exported files export identically again.
    again = tmp_path / "again"
    loader.export(str(again))
    for path in tmp_path.glob("*.json"):
        assert json.loads(path.read_text()) == json.loads((again / path.name).read_text())


def test_merge_prefer_new_overwrite(app, loaded, tmp_path):
    source = json.loads((SHIPPED / "compute-watchdog.json").read_text())
    name = source["namespace"]
    source["display_name"] = "Changed"
    source["properties"]["extra_prop"] = {"title": "Extra", "type": "string"}
    first_prop = next(iter(source["properties"]))
    source["properties"][first_prop]["description"] = "new words"
    (tmp_path / "w.json").write_text(json.dumps(source))
    loader.load(str(tmp_path), merge=True)
    doc = app.get(f"{NS_URL}/{name}", headers=A).json
    assert doc["display_name"] != "Changed" and "extra_prop" in doc["properties"]
    assert doc["properties"][first_prop].get("description") != "new words"
    loader.load(str(tmp_path), merge=True, prefer_new=True)
    doc = app.get(f"{NS_URL}/{name}", headers=A).json
    assert doc["display_name"] == "Changed"
    assert doc["properties"][first_prop]["description"] == "new words"
    del source["properties"]["extra_prop"]
    (tmp_path / "w.json").write_text(json.dumps(source))
    loader.load(str(tmp_path), merge=True, overwrite=True)
    assert "extra_prop" not in app.get(f"{NS_URL}/{name}", headers=A).json["properties"]
    with pytest.raises(exception.MetadefLoadError):
        loader.load(str(tmp_path), overwrite=True)


@pytest.mark.parametrize("content, problem", [
    ("{not json", "not valid JSON"),
    ('{"namespace": "Bad::One", "namespace": "x"}', "twice"),
    ('{"namespace": "Bad ns"}', "whitespace"),
    ('{"namespace": "Bad::Two", "properties": {"p": {"title": "P", "type": "integer", '
     '"enum": ["a"]}}}', "not of type"),
    ('{"namespace": "Bad::Three", "properties": {"p": {"title": "P", "type": "string"}},'
     ' "objects": [{"name": "o"}, {"name": "o"}]}', "already exists"),
])
def test_malformed_file_loads_nothing(app, tmp_path, content, problem):
    loader.unload()
    (tmp_path / "bad.json").write_text(content)
    good = json.loads((SHIPPED / "compute-watchdog.json").read_text())
    (tmp_path / "good.json").write_text(json.dumps(good))
    with pytest.raises(exception.MetadefLoadError) as err:
        loader.load(str(tmp_path))
    assert "bad.json" in str(err.value) and problem in str(err.value)
    names = [n["namespace"] for n in app.get(NS_URL, headers=A).json["namespaces"]]
    assert names == [good["namespace"]]
    loader.unload()


def test_unload_keeps_standard_resource_types(app):
    loader.unload()
    names = [rt["name"] for rt in app.get("/v2/metadefs/resource_types",
                                          headers=A).json["resource_types"]]
    assert "OS::Glance::Image" in names and "OS::Trove::Instance" in names


def test_real_server_load_and_crud(start_server):
    server = start_server(name="metadefs")
    script = ("import sys; from glance.api import app; "
              "app.load_config(config_files=[sys.argv[1]]); "
              "from glance.metadefs import loader; print(len(loader.load().created))")
    out = subprocess.run([sys.executable, "-c", script, str(server.config_path)],
                         capture_output=True, text=True, timeout=120, check=True)
    assert int(out.stdout.strip()) >= 30
    base = server.url + NS_URL
    doc = requests.get(f"{base}/OS::Compute::Hypervisor", headers=helpers.READER,
                       timeout=10).json()
    assert "vz" in doc["properties"]["hypervisor_type"]["enum"]
    body = {"namespace": "Real::Server", "properties": {"p": {"title": "P",
                                                              "type": "string"}}}
    assert requests.post(base, json=body, headers=A, timeout=10).status_code == 201
    assert requests.post(base, json=body, headers=A, timeout=10).status_code == 409
    assert requests.post(base, json={"namespace": "x y"}, headers=A,
                         timeout=10).status_code == 400
    assert requests.post(f"{base}/Real::Server/tags", json={"tags": [{"name": "a"}]},
                         headers=A, timeout=10).status_code == 201
    assert requests.post(f"{base}/Real::Server/tags/b", headers=helpers.MEMBER,
                         timeout=10).status_code == 403
    shown = requests.get(f"{base}/Real::Server", headers=A, timeout=10).json()
    assert shown["tags"] == [{"name": "a"}] and "p" in shown["properties"]
    assert requests.delete(f"{base}/Real::Server", headers=A, timeout=10).status_code == 204
    assert requests.get(f"{base}/Real::Server", headers=A, timeout=10).status_code == 404


def _shipped_counts() -> tuple[int, int, int, int]:
    """(namespaces, objects, properties in namespaces and objects, tags) of etc/metadefs."""
    docs = [json.loads(path.read_text()) for path in SHIPPED.glob("*.json")]
    objects = [obj for doc in docs for obj in doc.get("objects", [])]
    properties = sum(len(doc.get("properties", {})) for doc in docs) + sum(
        len(obj.get("properties", {})) for obj in objects)
    return len(docs), len(objects), properties, sum(len(d.get("tags", [])) for d in docs)


def test_glance_manage_load_metadefs_prints_what_it_loaded(tmp_path):
    config = helpers.write_config(tmp_path)
    (tmp_path / "state").mkdir()

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "glance.cmd.manage", "--config-file",
                               str(config), "db", *args], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)

    assert manage("sync").returncode == 0
    namespaces, objects, properties, tags = _shipped_counts()
    loaded = manage("load_metadefs", "--path", str(SHIPPED))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == (
        f"Loaded {namespaces} namespace(s) from {SHIPPED} ({namespaces} created, 0 merged, "
        f"0 overwritten, 0 skipped as already present): {objects} object(s), "
        f"{properties} properties (in namespaces and objects), {tags} tag(s)")
    again = manage("load_metadefs", "--path", str(SHIPPED))
    assert again.stdout.strip().startswith(f"Loaded 0 namespace(s) from {SHIPPED} (0 created")
    assert f"{namespaces} skipped" in again.stdout and "use --merge" in again.stdout
    exported = manage("export_metadefs", "--path", str(tmp_path / "out"))
    assert exported.stdout.strip() == (f"Exported {namespaces} namespace(s) to "
                                       f"{tmp_path / 'out'}")
    removed = manage("unload_metadefs")
    assert removed.stdout.strip() == (f"Removed {namespaces} namespace(s) from the metadata "
                                      "definitions catalog")


def test_glance_manage_load_metadefs_summary_with_a_bad_file(tmp_path):
    config = helpers.write_config(tmp_path)
    (tmp_path / "state").mkdir()
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "good.json").write_text(json.dumps(
        {"namespace": "Good::One", "tags": [{"name": "t"}],
         "objects": [{"name": "o", "properties": {"a": {"title": "A", "type": "string"}}}],
         "properties": {"p": {"title": "P", "type": "string"}}}))
    (definitions / "bad.json").write_text("{not json")
    command = [sys.executable, "-m", "glance.cmd.manage", "--config-file", str(config), "db"]
    subprocess.run(command + ["sync"], check=True, capture_output=True, timeout=120)
    result = subprocess.run(command + ["load_metadefs", "--path", str(definitions)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout.strip() == (
        f"Loaded 1 namespace(s) from {definitions} (1 created, 0 merged, 0 overwritten, "
        "0 skipped as already present): 1 object(s), 2 properties (in namespaces and "
        "objects), 1 tag(s); 1 file(s) not loaded")
    assert "bad.json" in result.stderr and "Traceback" not in result.stderr
