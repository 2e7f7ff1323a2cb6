"""Tempest through the load balancer of a three-node cluster (tests/cluster/harness.py).

The same tempest run as ``tools/tempest/run.py`` (tempest 47.0.0's image API tests
and glance-tempest-plugin's RBAC tests, a real Keystone from tests/keystone, the
images tempest downloads from a loopback HTTP server), but Keystone's ``image``
endpoint is haproxy in front of three ``glance-api`` nodes (keystone flavor,
stores ``fs1``/``fs2`` shared by the nodes, read-only ``web``, each node its own
staging area and image cache), and ``image_remote`` (tempest's other-node tests:
remote cache, import and delete on another node) is node 2 itself. Every call of
tempest thus lands on whichever node haproxy picks, distributed import included.

    python -m tests.cluster.harness tempest [--db postgresql|galera] [--regex R]
    python -m tests.cluster.tempest ...      # the same

Prints ``passed=N failed=M skipped=K`` and the wall time; exit status 0 when nothing
failed. Everything lives in ``--workdir`` (default ``<repo>/.tempest-cluster-work``,
wiped at each run) and is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _run_module() -> ModuleType:
    """tools/tempest/run.py, imported (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("glance_tempest_run",
                                                  ROOT / "tools" / "tempest" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def node_sections(run: ModuleType, keystone_url: str, workdir: Path) -> dict:
    """tools/tempest/run.py's glance configuration for cluster nodes: one worker each,
    and each node's image cache in its own directory (the harness sets it)."""
    sections = run.glance_sections(keystone_url, workdir)
    sections["DEFAULT"] = {key: value for key, value in sections["DEFAULT"].items()
                           if key not in ("image_cache_dir", "workers")}
    return sections


def main(argv: list[str] | None = None) -> int:
    from tests.cluster import galera, harness
    from tests.keystone import harness as keystone_harness

    parser = argparse.ArgumentParser(prog="python -m tests.cluster.tempest",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--regex", default=None)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--db", choices=("postgresql", "galera"), default="postgresql")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".tempest-cluster-work")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups below
    started = time.monotonic()
    run = _run_module()
    run.install_tempest()
    workdir: Path = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    workdir.chmod(0o755)  # Galera's mariadbd (user mysql) keeps its data under it
    image_server, images_url = run.serve_images(workdir / "http-images")
    keystone = keystone_harness.Keystone(workdir / "keystone", port=run._keystone_port())
    keystone.workdir.mkdir(parents=True)
    (keystone.workdir / "gunicorn.conf.py").write_text(run.KEYSTONE_GUNICORN_CONF)
    (keystone.workdir / "cache.conf").write_text(run.KEYSTONE_CACHE_CONF)
    cluster = None
    try:
        keystone.start(timeout=120)
        print(f"keystone: {keystone.url}", flush=True)
        database = galera.Galera(workdir / "cluster") if args.db == "galera" else None
        cluster = harness.Cluster(workdir / "cluster", nodes=3, database=database,
                                  sections=node_sections(run, keystone.url, workdir))
        run.register_glance(keystone.url, cluster.url, cluster.nodes[1].url)
        cluster.up()
        print(f"glance: {cluster.url} (haproxy; nodes "
              f"{', '.join(n.url for n in cluster.nodes)}; {args.db})", flush=True)
        workspace = workdir / "workspace"
        subprocess.run([str(run.TEMPEST_VENV / "bin" / "tempest"), "init",
                        "--workspace-path", str(workdir / "workspaces.yaml"),
                        "--name", "glance-cluster", str(workspace)],
                       check=True, capture_output=True)
        (workspace / "etc" / "tempest.conf").write_text(
            run.tempest_conf(keystone.url, images_url, workspace / "logs"))
        status, output = run.run_tempest(workspace, args.regex or run.DEFAULT_REGEX,
                                         args.concurrency)
    finally:
        if cluster is not None:
            cluster.down()
        keystone.stop()
        image_server.shutdown()
    counts = {key: int(value) for key, value in run.SUMMARY.findall(output)}
    passed, failed = counts.get("Passed", 0), counts.get("Failed", 0)
    skipped = counts.get("Skipped", 0)
    print(f"tempest through the load balancer ({args.db}): passed={passed} "
          f"failed={failed} skipped={skipped} (wall time "
          f"{(time.monotonic() - started) / 60:.1f} min; logs in {workdir})")
    if not counts:
        print("tempest printed no totals; see workspace/tempest-run.txt", file=sys.stderr)
        return status or 1
    return 1 if failed or status else 0


if __name__ == "__main__":
    sys.exit(main())
