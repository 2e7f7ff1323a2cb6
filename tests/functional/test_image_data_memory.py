"""A 1 GiB upload and download keep the server's RSS within 64 MiB of idle."""

import hashlib
import os
import threading
from pathlib import Path

import requests

from tests import helpers

GIB = 1024 ** 3
BLOCK = os.urandom(1024 * 1024)


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class Sampler(threading.Thread):
    """Records the peak tree RSS while a transfer runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, tree_rss(self.pid))


def test_1gib_upload_and_download_rss_flat(start_server):
    server = start_server({"DEFAULT": {"workers": 1}}, name="memory")
    headers = helpers.MEMBER
    image_id = requests.post(f"{server.url}/v2/images", headers=headers, json={
        "disk_format": "raw", "container_format": "bare"}).json()["id"]
    url = f"{server.url}/v2/images/{image_id}/file"
    # warm up every code path once with a small image so idle means "ready"
    warm = requests.post(f"{server.url}/v2/images", headers=headers, json={}).json()["id"]
    requests.put(f"{server.url}/v2/images/{warm}/file", data=BLOCK,
                 headers={**headers, "Content-Type": "application/octet-stream"})
    requests.get(f"{server.url}/v2/images/{warm}/file", headers=headers)
    idle = tree_rss(server.pid)

    sampler = Sampler(server.pid)
    sampler.start()
    expected = hashlib.md5()

    def body():
        for _ in range(GIB // len(BLOCK)):
            expected.update(BLOCK)
            yield BLOCK

    response = requests.put(url, data=body(), headers={
        **headers, "Content-Type": "application/octet-stream"})
    assert response.status_code == 204
    got = hashlib.md5()
    with requests.get(url, headers=headers, stream=True) as download:
        assert download.status_code == 200
        for chunk in download.iter_content(1024 * 1024):
            got.update(chunk)
    sampler.done.set()
    sampler.join()
    assert got.hexdigest() == expected.hexdigest()
    image = requests.get(f"{server.url}/v2/images/{image_id}", headers=headers).json()
    assert image["size"] == GIB and image["checksum"] == expected.hexdigest()
    growth = sampler.peak - idle
    assert growth < 64 * 1024 * 1024, f"RSS grew by {growth / 2**20:.1f} MiB"
