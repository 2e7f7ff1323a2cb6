"""Notifications on the machine's real RabbitMQ (127.0.0.1:5672, guest/guest).

A consumer (an oslo.messaging notification listener, as Ceilometer runs) listens
on a topic of its own while a real glance-api process serves the calls. The
outage test stops RabbitMQ's application with ``rabbitmqctl stop_app`` and
always starts it again; it holds an exclusive lock that the other tests here
share, so no test of this module runs on a stopped broker.
"""

import contextlib
import fcntl
import itertools
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import kombu
import oslo_messaging
import pytest
import requests
from oslo_config import cfg

from tests import helpers

RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
LOCK_PATH = "/tmp/glance-tests-rabbitmq.lock"
DATA = b"notification payload data " * 4096
_counter = itertools.count()


def _rabbit_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _rabbit_up(), reason="RabbitMQ is not running")


@contextlib.contextmanager
def _broker_lock(exclusive: bool) -> Iterator[None]:
    with open(LOCK_PATH, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _topic(name: str) -> str:
    return f"glance-test-{name}-{os.getpid()}-{next(_counter)}-{time.time_ns()}"


class Collector:
    """Notification endpoint that records every message it receives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def _record(self, priority: str, ctxt, publisher_id, event_type, payload) -> None:
        with self._cond:
            self.messages.append({"priority": priority, "publisher_id": publisher_id,
                                  "event_type": event_type, "payload": payload,
                                  "ctxt": ctxt})
            self._cond.notify_all()

    def info(self, ctxt, publisher_id, event_type, payload, metadata) -> None:
        self._record("info", ctxt, publisher_id, event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata) -> None:
        self._record("error", ctxt, publisher_id, event_type, payload)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.messages if m["event_type"] == event_type]

    def wait_for(self, event_type: str, timeout: float = 30, **match: Any) -> dict:
        """The first message of ``event_type`` whose payload has the ``match`` items."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    payload = message["payload"]
                    if message["event_type"] == event_type and all(
                            isinstance(payload, dict) and payload.get(k) == v
                            for k, v in match.items()):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [m["event_type"] for m in self.messages]
                    raise AssertionError(f"no {event_type} {match} within {timeout}s; "
                                         f"received {seen}")
                self._cond.wait(left)


@contextlib.contextmanager
def listening(topic: str) -> Iterator[Collector]:
    """A notification listener on ``topic`` (exchange ``glance``); queues removed after."""
    conf = cfg.ConfigOpts()
    transport = oslo_messaging.get_notification_transport(conf, url=RABBIT_URL)
    collector = Collector()
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=topic, exchange="glance")], [collector],
        executor="threading")
    listener.start()
    try:
        yield collector
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()
        with contextlib.suppress(Exception), kombu.Connection(
                "amqp://guest:guest@127.0.0.1:5672//", connect_timeout=5) as conn:
            channel = conn.channel()
            for priority in ("info", "error", "warn", "audit", "critical", "debug",
                             "sample"):
                with contextlib.suppress(Exception):
                    channel.queue_delete(f"{topic}.{priority}")


def _sections(topic: str, **default: Any) -> dict[str, dict[str, Any]]:
    return {"DEFAULT": {"workers": 1, "default_publisher_id": "image.testhost", **default},
            "oslo_messaging_notifications": {"driver": "messagingv2",
                                             "transport_url": RABBIT_URL,
                                             "topics": topic},
            "oslo_messaging_rabbit": {"rabbit_retry_interval": 1,
                                      "rabbit_retry_backoff": 1,
                                      "rabbit_interval_max": 2}}


def _create(server: helpers.Server, headers: dict, **body: Any) -> dict:
    reply = requests.post(f"{server.url}/v2/images", headers=headers, timeout=10,
                          json={"disk_format": "raw", "container_format": "bare", **body})
    assert reply.status_code == 201, reply.text
    return reply.json()


def _upload(server: helpers.Server, image_id: str, headers: dict) -> None:
    reply = requests.put(f"{server.url}/v2/images/{image_id}/file", data=DATA, timeout=30,
                         headers={**headers, "Content-Type": "application/octet-stream"})
    assert reply.status_code == 204, reply.text


IMAGE_FIELDS = {"id", "name", "status", "created_at", "updated_at", "min_disk", "min_ram",
                "protected", "checksum", "owner", "disk_format", "container_format",
                "size", "virtual_size", "is_public", "visibility", "properties", "tags",
                "deleted", "deleted_at"}


def test_image_life_cycle_events(start_server):
    """create -> upload -> share -> accept -> download -> tag -> unshare -> delete."""
    topic = _topic("life")
    owner, consumer = helpers.MEMBER, helpers.OTHER_MEMBER
    with _broker_lock(exclusive=False), listening(topic) as bus:
        server = start_server(_sections(topic), name="notify-life")
        image = _create(server, owner, name="noted", foo="bar")
        image_id = image["id"]
        created = bus.wait_for("image.create", id=image_id)
        assert created["priority"] == "info"
        assert created["publisher_id"] == "image.testhost"
        payload = created["payload"]
        assert set(payload) >= IMAGE_FIELDS
        assert payload["status"] == "queued" and payload["name"] == "noted"
        assert payload["owner"] == helpers.PROJECT_1
        assert payload["properties"] == {"foo": "bar"}
        assert payload["is_public"] is False and payload["visibility"] == "shared"
        assert payload["deleted"] is False and payload["deleted_at"] is None
        assert payload["created_at"].endswith("Z")
        assert "locations" not in payload

        _upload(server, image_id, owner)
        prepare = bus.wait_for("image.prepare", id=image_id)["payload"]
        assert prepare["os_glance_importing_to_stores"] == []
        upload = bus.wait_for("image.upload", id=image_id)["payload"]
        assert upload["status"] == "active" and upload["size"] == len(DATA)
        assert upload["checksum"] and upload["os_glance_failed_import"] == []
        assert "locations" not in upload
        activate = bus.wait_for("image.activate", id=image_id)["payload"]
        assert activate["status"] == "active"

        members = f"{server.url}/v2/images/{image_id}/members"
        reply = requests.post(members, json={"member": helpers.PROJECT_2}, headers=owner,
                              timeout=10)
        assert reply.status_code == 200, reply.text
        member = bus.wait_for("image.member.create", image_id=image_id)["payload"]
        assert member == {"image_id": image_id, "member_id": helpers.PROJECT_2,
                          "status": "pending", "created_at": member["created_at"],
                          "updated_at": member["updated_at"], "deleted": False,
                          "deleted_at": None}
        reply = requests.put(f"{members}/{helpers.PROJECT_2}", json={"status": "accepted"},
                             headers=consumer, timeout=10)
        assert reply.status_code == 200, reply.text
        assert bus.wait_for("image.member.update", image_id=image_id,
                            status="accepted")["payload"]["member_id"] == helpers.PROJECT_2

        reply = requests.get(f"{server.url}/v2/images/{image_id}/file", headers=consumer,
                             timeout=30)
        assert reply.status_code == 200 and reply.content == DATA
        sent = bus.wait_for("image.send", image_id=image_id)
        assert sent["priority"] == "info"
        assert sent["payload"] == {"bytes_sent": len(DATA), "image_id": image_id,
                                   "owner_id": helpers.PROJECT_1,
                                   "receiver_tenant_id": helpers.PROJECT_2,
                                   "receiver_user_id": "u2",
                                   "destination_ip": "127.0.0.1"}
        reply = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=30,
                             headers={**owner, "Range": "bytes=0-99"})
        assert reply.status_code == 206
        assert bus.wait_for("image.send", image_id=image_id,
                            bytes_sent=100)["payload"]["receiver_tenant_id"] == \
            helpers.PROJECT_1

        reply = requests.put(f"{server.url}/v2/images/{image_id}/tags/blue", headers=owner,
                             timeout=10)
        assert reply.status_code == 204
        update = bus.wait_for("image.update", id=image_id, tags=["blue"])["payload"]
        assert update["status"] == "active"

        reply = requests.delete(f"{members}/{helpers.PROJECT_2}", headers=owner, timeout=10)
        assert reply.status_code == 204
        gone = bus.wait_for("image.member.delete", image_id=image_id)["payload"]
        assert gone["deleted"] is True and gone["deleted_at"].endswith("Z")

        reply = requests.delete(f"{server.url}/v2/images/{image_id}", headers=owner,
                                timeout=10)
        assert reply.status_code == 204
        deleted = bus.wait_for("image.delete", id=image_id)["payload"]
        assert deleted["deleted"] is True and deleted["deleted_at"].endswith("Z")
        assert deleted["status"] == "deleted"
        assert "image_data" not in deleted

        order = [m["event_type"] for m in bus.messages
                 if isinstance(m["payload"], dict)
                 and image_id in (m["payload"].get("id"), m["payload"].get("image_id"))]
        assert order[:4] == ["image.create", "image.prepare", "image.upload",
                             "image.activate"]
        assert order[-1] == "image.delete"


def test_metadef_and_task_events(start_server):
    topic = _topic("metadefs")
    with _broker_lock(exclusive=False), listening(topic) as bus:
        server = start_server(_sections(topic), name="notify-metadefs")
        base = f"{server.url}/v2/metadefs/namespaces"
        ns = f"TestNotify{next(_counter)}"
        admin = helpers.ADMIN
        reply = requests.post(base, json={"namespace": ns, "display_name": "Noted"},
                              headers=admin, timeout=10)
        assert reply.status_code == 201, reply.text
        created = bus.wait_for("metadef_namespace.create", namespace=ns)["payload"]
        assert created["namespace_old"] == ns and created["display_name"] == "Noted"
        reply = requests.post(f"{base}/{ns}/properties", headers=admin, timeout=10,
                              json={"name": "speed", "title": "Speed", "type": "integer",
                                    "minimum": 1})
        assert reply.status_code == 201, reply.text
        prop = bus.wait_for("metadef_property.create", namespace=ns)["payload"]
        assert (prop["name"], prop["type"], prop["minimum"]) == ("speed", "integer", 1)
        reply = requests.post(f"{base}/{ns}/tags/old", headers=admin, timeout=10)
        assert reply.status_code == 201, reply.text
        reply = requests.put(f"{base}/{ns}/tags/old", json={"name": "new"},
                             headers=admin, timeout=10)
        assert reply.status_code == 200, reply.text
        tag = bus.wait_for("metadef_tag.update", namespace=ns)["payload"]
        assert (tag["name"], tag["name_old"]) == ("new", "old")
        reply = requests.delete(f"{base}/{ns}", headers=admin, timeout=10)
        assert reply.status_code == 204
        assert bus.wait_for("metadef_namespace.delete",
                            namespace=ns)["payload"]["deleted"] is True

        # an interoperable import (glance-direct): its task's life and the image's
        image = _create(server, admin, name="imported")
        image_id = image["id"]
        reply = requests.put(f"{server.url}/v2/images/{image_id}/stage", data=DATA,
                             timeout=30, headers={**admin,
                                                  "Content-Type": "application/octet-stream"})
        assert reply.status_code == 204, reply.text
        reply = requests.post(f"{server.url}/v2/images/{image_id}/import", headers=admin,
                              json={"method": {"name": "glance-direct"}}, timeout=10)
        assert reply.status_code == 202, reply.text
        create = bus.wait_for("task.create", type="api_image_import")["payload"]
        task_id = create["id"]
        assert create["status"] == "pending" and "input" not in create
        for event, status in (("task.run", "pending"), ("task.processing", "processing"),
                              ("task.success", "success")):
            payload = bus.wait_for(event, id=task_id)["payload"]
            assert payload["status"] == status and "input" not in payload
        assert bus.wait_for("task.success", id=task_id)["payload"]["result"] == {
            "image_id": image_id}
        assert bus.wait_for("image.upload", id=image_id)["payload"]["size"] == len(DATA)
        assert bus.wait_for("image.activate", id=image_id)["payload"]["status"] == "active"


def test_disabled_notifications_are_not_sent(start_server):
    topic = _topic("disabled")
    with _broker_lock(exclusive=False), listening(topic) as bus:
        server = start_server(_sections(
            topic, disabled_notifications="image.create,image.member,image.up*"),
            name="notify-disabled")
        image = _create(server, helpers.MEMBER)
        requests.post(f"{server.url}/v2/images/{image['id']}/members", timeout=10,
                      json={"member": helpers.PROJECT_2}, headers=helpers.MEMBER)
        _upload(server, image["id"], helpers.MEMBER)
        # one worker, one sender thread, one queue: later events arrive after earlier
        bus.wait_for("image.activate", id=image["id"])
        bus.wait_for("image.prepare", id=image["id"])
        time.sleep(0.5)
        received = {m["event_type"] for m in bus.messages}
        assert not received & {"image.create", "image.member.create", "image.upload",
                               "image.update"}


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def test_api_answers_while_rabbitmq_is_down(start_server):
    """With the broker stopped every call succeeds quickly; events flow again after."""
    topic = _topic("outage")
    with _broker_lock(exclusive=True):
        server = start_server(_sections(topic), name="notify-outage")
        _create(server, helpers.MEMBER)  # the notifier connects once while the bus is up
        _rabbitmqctl("stop_app")
        try:
            started = time.monotonic()
            image = _create(server, helpers.MEMBER, name="offline")
            _upload(server, image["id"], helpers.MEMBER)
            reply = requests.get(f"{server.url}/v2/images/{image['id']}/file",
                                 headers=helpers.MEMBER, timeout=10)
            assert reply.status_code == 200 and reply.content == DATA
            reply = requests.patch(
                f"{server.url}/v2/images/{image['id']}", timeout=10,
                headers={**helpers.MEMBER,
                         "Content-Type": "application/openstack-images-v2.1-json-patch"},
                json=[{"op": "replace", "path": "/name", "value": "still-offline"}])
            assert reply.status_code == 200, reply.text
            reply = requests.delete(f"{server.url}/v2/images/{image['id']}",
                                    headers=helpers.MEMBER, timeout=10)
            assert reply.status_code == 204
            assert time.monotonic() - started < 5
        finally:
            _rabbitmqctl("start_app")
            _rabbitmqctl("await_startup")
        with listening(topic) as bus:
            image = _create(server, helpers.MEMBER, name="back-online")
            bus.wait_for("image.create", id=image["id"], timeout=60)
