#!/usr/bin/env python3
"""Run tempest's image API tests and the glance-tempest-plugin RBAC tests against glance.

One command, on a fresh machine (needs python3 and PyPI)::

    python3 tools/tempest/run.py [--regex REGEX] [--concurrency N] [--workdir DIR]

It makes sure ``.venv`` (glance) exists, installs tempest and the plugin into
their own ``.venv-tempest``, starts a real Keystone on 127.0.0.1:5000 with the
Keystone test harness (tests/keystone/harness.py), registers a ``glance``
service user and the ``image`` endpoint, starts glance (flavor
keystone+cachemanagement, two file stores plus the read-only http store, the
image cache on) and a second glance node sharing its database and stores
(``image_remote`` endpoint, its own cache), serves the images tempest downloads
from a loopback HTTP server, writes a tempest workspace and tempest.conf, runs
``tempest run`` and prints ``passed=N failed=M skipped=K`` and the wall time.
Exit status: 0 when nothing failed. Everything lives under ``--workdir``
(default ``<repo>/.tempest-work``, wiped at each run): logs of Keystone
(``keystone/``), glance (``glance/glance-api.log``, ``glance-remote/``) and tempest
(``workspace/``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GLANCE_PYTHON = ROOT / ".venv" / "bin" / "python"
TEMPEST_VENV = Path(os.environ.get("TEMPEST_VENV", ROOT / ".venv-tempest"))
TEMPEST_PACKAGES = ("tempest==47.0.0", "glance-tempest-plugin==0.17.0")
DEFAULT_REGEX = r"^(tempest\.api\.image\.v2|glance_tempest_plugin\.tests\.rbac\.v2)"
KEYSTONE_PORT = 5000
# The harness starts gunicorn with two workers and Keystone's cache off. Two processes
# writing one SQLite file fail with "database is locked" when tempest creates and
# deletes its users in parallel, and without a cache every token validation costs
# Keystone ~0.5 s of CPU in ORM queries. gunicorn reads ./gunicorn.conf.py from the
# harness's work directory: this hook, run in the master before it forks, keeps one
# worker and adds a config file that turns on an in-process cache (coherent, as
# there is one process).
KEYSTONE_CACHE_CONF = """[cache]
enabled = true
backend = dogpile.cache.memory
"""
KEYSTONE_GUNICORN_CONF = """\
import os


def on_starting(server):
    server.num_workers = 1
    os.environ["OS_KEYSTONE_CONFIG_FILES"] += ";" + os.path.abspath("cache.conf")
"""
GLANCE_PASSWORD = "glance-service-secret"
# A second glance node (same database and stores, its own image cache) in the catalog
# under this service type: tempest's alternate_image_endpoint tests (remote cache,
# import and delete on another node).
REMOTE_SERVICE_TYPE = "image_remote"


def _bootstrap() -> None:
    """Re-run this script with glance's virtualenv (created by tools/dev.py if missing)."""
    if Path(sys.prefix).resolve() == (ROOT / ".venv").resolve():
        return
    sys.path.insert(0, str(ROOT / "tools"))
    import dev  # noqa: PLC0415 - tools/dev.py, stdlib only

    dev.ensure_venv()
    os.execv(str(GLANCE_PYTHON), [str(GLANCE_PYTHON), *sys.argv])


def install_tempest() -> Path:
    """Create ``.venv-tempest`` with the pinned tempest and plugin (no-op when present)."""
    stamp = TEMPEST_VENV / ".installed"
    if stamp.exists() and stamp.read_text() == " ".join(TEMPEST_PACKAGES):
        return TEMPEST_VENV
    print(f"Installing {' '.join(TEMPEST_PACKAGES)} into {TEMPEST_VENV} ...", flush=True)
    base_python = getattr(sys, "_base_executable", sys.executable)
    if not (TEMPEST_VENV / "bin" / "pip").exists():
        subprocess.run([base_python, "-m", "venv", str(TEMPEST_VENV)], check=True)
    subprocess.run([str(TEMPEST_VENV / "bin" / "pip"), "install", "-q", *TEMPEST_PACKAGES],
                   check=True, timeout=1800)
    stamp.write_text(" ".join(TEMPEST_PACKAGES))
    return TEMPEST_VENV


# -- test images ---------------------------------------------------------------------


def qcow2_image(virtual_size: int = 1024 * 1024) -> bytes:
    """A valid, empty qcow2 (version 2, 64 KiB clusters): header, L1, refcount table+block."""
    cluster = 1 << 16
    header = struct.pack(
        ">4sIQIIQIIQQIIQ", b"QFI\xfb", 2, 0, 0, 16, virtual_size, 0,
        1, cluster,         # l1_size, l1_table_offset (cluster 1)
        2 * cluster, 1,     # refcount_table_offset (cluster 2), refcount_table_clusters
        0, 0)               # nb_snapshots, snapshots_offset
    l1 = bytes(8)
    refcount_table = struct.pack(">Q", 3 * cluster)
    refcount_block = struct.pack(">4H", 1, 1, 1, 1)
    image = bytearray(4 * cluster)
    image[0:len(header)] = header
    image[cluster:cluster + 8] = l1
    image[2 * cluster:2 * cluster + 8] = refcount_table
    image[3 * cluster:3 * cluster + 8] = refcount_block
    return bytes(image)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve_images(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Write the test images and serve ``directory`` on a loopback port; returns the base URL."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cirros.raw").write_bytes(os.urandom(1024 * 1024))
    (directory / "cirros.qcow2").write_bytes(qcow2_image())
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# -- keystone and glance -------------------------------------------------------------


def register_glance(keystone_url: str, glance_url: str,
                    remote_url: str) -> dict[str, str]:
    """Create project ``service``, user ``glance`` (admin + service), the image endpoint
    and the ``image_remote`` endpoint of the second glance node."""
    from keystoneauth1 import session as ks_session  # noqa: PLC0415
    from keystoneauth1.identity import v3  # noqa: PLC0415
    from keystoneclient.v3 import client as ks_client  # noqa: PLC0415

    from tests.keystone import harness  # noqa: PLC0415

    auth = v3.Password(auth_url=keystone_url + "/v3", username="admin",
                       password=harness.ADMIN_PASSWORD, project_name="admin",
                       user_domain_id="default", project_domain_id="default")
    ks = ks_client.Client(session=ks_session.Session(auth=auth))
    roles = {role.name: role for role in ks.roles.list()}
    for name in ("service", "member", "reader"):
        if name not in roles:
            roles[name] = ks.roles.create(name=name)
    project = ks.projects.create(name="service", domain="default")
    user = ks.users.create(name="glance", domain="default", password=GLANCE_PASSWORD,
                           default_project=project)
    for name in ("admin", "service"):
        ks.roles.grant(roles[name], user=user, project=project)
    for name, kind, url in (("glance", "image", glance_url),
                            ("glance_remote", REMOTE_SERVICE_TYPE, remote_url)):
        service = ks.services.create(name=name, type=kind)
        for interface in ("public", "internal", "admin"):
            ks.endpoints.create(service=service, url=url, interface=interface,
                                region=harness.REGION)
    return {"project_id": project.id, "user_id": user.id}


def glance_sections(keystone_url: str, workdir: Path) -> dict[str, dict[str, object]]:
    """glance-api.conf for tempest: keystone flavor, fs1/fs2 file stores + read-only web,
    the image cache on."""
    from tests.keystone import harness  # noqa: PLC0415

    return {
        "DEFAULT": {
            "enabled_backends": "fs1:file, fs2:file, web:http",
            "enabled_import_methods": "glance-direct,web-download,copy-image,glance-download",
            "show_multiple_locations": "true",
            "workers": "2",
            # The image cache (tempest's image_caching_enabled): on with a cache
            # directory; the prefetcher also runs at once when an image is queued.
            "image_cache_dir": workdir / "image-cache",
            "cache_prefetcher_interval": "5",
        },
        "glance_store": {"default_backend": "fs1"},
        "fs1": {"filesystem_store_datadir": workdir / "stores" / "fs1",
                "store_description": "Fast file store"},
        "fs2": {"filesystem_store_datadir": workdir / "stores" / "fs2",
                "store_description": "Slow file store"},
        # tempest's location tests expect the http store to be called "web".
        "web": {"store_description": "Read-only http store"},
        "import_filtering_opts": {"allowed_hosts": "127.0.0.1", "allowed_ports": ""},
        # Glance's name for keystone with the image cache (a Glance config keeps working).
        "paste_deploy": {"flavor": "keystone+cachemanagement"},
        "keystone_authtoken": {
            "www_authenticate_uri": keystone_url, "auth_url": keystone_url,
            "auth_type": "password", "username": "glance", "password": GLANCE_PASSWORD,
            "project_name": "service", "user_domain_id": "default",
            "project_domain_id": "default", "region_name": harness.REGION,
            "service_token_roles_required": "true",
        },
    }


def remote_sections(sections: dict[str, dict[str, object]], workdir: Path,
                    state_path: Path) -> dict[str, dict[str, object]]:
    """The second node: the first one's config, database, stores and staging area (one
    state_path), its own image cache and one worker."""
    remote = {name: dict(values) for name, values in sections.items()}
    remote["DEFAULT"].update({"state_path": state_path, "workers": "1",
                              "image_cache_dir": workdir / "image-cache-remote"})
    return remote


# -- tempest -------------------------------------------------------------------------


def tempest_conf(keystone_url: str, images_url: str, log_dir: Path) -> str:
    """tempest.conf: dynamic credentials, identity v3, glance the only service."""
    from tests.keystone import harness  # noqa: PLC0415

    return f"""[DEFAULT]
log_dir = {log_dir}
log_file = tempest.log
debug = true

[auth]
use_dynamic_credentials = true
admin_username = admin
admin_password = {harness.ADMIN_PASSWORD}
admin_project_name = admin
admin_domain_name = Default
admin_system = all

[identity]
uri_v3 = {keystone_url}/v3
auth_version = v3
region = {harness.REGION}
disable_ssl_certificate_validation = true

[identity-feature-enabled]
api_v2 = false
api_v3 = true

[enforce_scope]
glance = true
keystone = true

[glance_api]
system_scope_supported = false

[service_available]
glance = true
nova = false
cinder = false
neutron = false
swift = false
horizon = false
heat = false
placement = false

[image]
region = {harness.REGION}
http_image = {images_url}/cirros.raw
http_qcow2_image = {images_url}/cirros.qcow2
container_formats = bare,ami,ari,aki,ovf,ova
disk_formats = qcow2,raw,ami,ari,aki,vhd,vmdk,vdi,iso,vhdx
build_timeout = 120
build_interval = 1
image_caching_enabled = true
alternate_image_endpoint = {REMOTE_SERVICE_TYPE}

[image-feature-enabled]
api_v2 = true
import_image = true
os_glance_reserved = true
manage_locations = true
image_conversion = false
image_format_enforcement = true
do_secure_hash = true
http_store_enabled = true
store_weight_enabled = false
"""


SUMMARY = re.compile(r"^ - (Passed|Skipped|Failed|Expected Fail|Unexpected Success): (\d+)",
                     re.MULTILINE)


def run_tempest(workspace: Path, regex: str, concurrency: int) -> tuple[int, str]:
    """``tempest run`` in the workspace; returns (exit status, output)."""
    env = {**os.environ, "PATH": f"{TEMPEST_VENV / 'bin'}:{os.environ['PATH']}"}
    process = subprocess.Popen(
        [str(TEMPEST_VENV / "bin" / "tempest"), "run", "--regex", regex,
         "--concurrency", str(concurrency)],
        cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    lines = []
    assert process.stdout is not None
    try:
        with (workspace / "tempest-run.txt").open("w") as transcript:
            for line in process.stdout:
                lines.append(line)
                transcript.write(line)
                transcript.flush()
                if line.startswith(("{", "==", "FAIL", "Totals", " - ")):
                    print(line, end="", flush=True)
        return process.wait(), "".join(lines)
    finally:
        if process.poll() is None:  # interrupted: stop tempest and its workers
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()


def _keystone_port() -> int:
    """5000 (Keystone's usual port) when it is free, else any free loopback port."""
    from tests.keystone import harness  # noqa: PLC0415

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind(("127.0.0.1", KEYSTONE_PORT))
        except OSError:
            return harness.free_port()
    return KEYSTONE_PORT


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regex", default=DEFAULT_REGEX)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".tempest-work")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups below
    started = time.monotonic()
    sys.path.insert(0, str(ROOT))
    from tests import helpers  # noqa: PLC0415
    from tests.keystone import harness  # noqa: PLC0415

    install_tempest()
    workdir: Path = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    image_server, images_url = serve_images(workdir / "http-images")
    keystone = harness.Keystone(workdir / "keystone", port=_keystone_port())
    keystone.workdir.mkdir(parents=True)
    (keystone.workdir / "gunicorn.conf.py").write_text(KEYSTONE_GUNICORN_CONF)
    (keystone.workdir / "cache.conf").write_text(KEYSTONE_CACHE_CONF)
    glance = remote = None
    try:
        keystone.start(timeout=120)
        print(f"keystone: {keystone.url}", flush=True)
        glance_port, remote_port = helpers.free_port(), helpers.free_port()
        register_glance(keystone.url, f"http://127.0.0.1:{glance_port}",
                        f"http://127.0.0.1:{remote_port}")
        sections = glance_sections(keystone.url, workdir)
        config = helpers.write_config(workdir / "glance", sections, port=glance_port)
        glance = helpers.Server(config).start()
        print(f"glance: {glance.url} (log {glance.log_path})", flush=True)
        remote = helpers.Server(helpers.write_config(
            workdir / "glance-remote", remote_sections(sections, workdir, glance.state_path),
            port=remote_port)).start()
        print(f"glance (second node): {remote.url} (log {remote.log_path})", flush=True)
        workspace = workdir / "workspace"
        subprocess.run([str(TEMPEST_VENV / "bin" / "tempest"), "init",
                        "--workspace-path", str(workdir / "workspaces.yaml"),
                        "--name", "glance", str(workspace)],
                       check=True, capture_output=True)
        (workspace / "etc" / "tempest.conf").write_text(
            tempest_conf(keystone.url, images_url, workspace / "logs"))
        status, output = run_tempest(workspace, args.regex, args.concurrency)
    finally:
        for server in (remote, glance):
            if server is not None:
                server.stop()
        keystone.stop()
        image_server.shutdown()
    counts = {key: int(value) for key, value in SUMMARY.findall(output)}
    passed, failed = counts.get("Passed", 0), counts.get("Failed", 0)
    skipped = counts.get("Skipped", 0)
    elapsed = time.monotonic() - started
    print(f"tempest: passed={passed} failed={failed} skipped={skipped} "
          f"(wall time {elapsed / 60:.1f} min; logs in {workdir})")
    print(f"tempest: {passed} passed, {failed} failed, {skipped} skipped")
    if not counts:
        print("tempest printed no totals; see workspace/tempest-run.txt", file=sys.stderr)
        return status or 1
    return 1 if failed or status else 0


if __name__ == "__main__":
    _bootstrap()
    sys.exit(main(sys.argv[1:]))
