"""Payload builders, the disabled_notifications filter and download metering."""

from datetime import UTC, datetime

import pytest

from glance import notifier
from glance.domain.image import Image

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456)


@pytest.mark.parametrize(("event", "disabled", "expected"), [
    ("image.create", ["image.create"], True),
    ("image.create", ["image"], True),
    ("image.member.create", ["image"], True),
    ("image.member.create", ["image.member"], True),
    ("image.create", ["image.member"], False),
    ("image.update", ["image.up*"], True),
    ("image.upload", ["image.up*"], True),
    ("image.create", ["image.*"], True),
    ("task.success", ["image.*"], False),
    ("metadef_tag.create", ["metadef_*"], True),
    ("image.create", ["imag"], False),
    ("image.create", [" ", ""], False),
    ("image.create", [], False),
], ids=lambda v: ",".join(v) if isinstance(v, list) else str(v))
def test_event_disabled(event, disabled, expected):
    assert notifier.event_disabled(event, disabled) is expected


def test_isotime_is_utc_with_z():
    assert notifier.isotime(WHEN) == "2024-05-06T07:08:09Z"
    aware = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert notifier.isotime(aware) == "2024-05-06T07:08:09Z"
    assert notifier.isotime().endswith("Z")


def test_image_payload_has_glance_fields_and_no_locations():
    image = Image(id="i1", name="n", visibility="public", owner="p", created_at=WHEN,
                  updated_at=WHEN, tags=["t"], extra={"a": "b"},
                  locations=[{"url": "swift://secret@host/x", "metadata": {}}])
    payload = notifier.image_payload(image)
    assert payload["is_public"] is True and payload["visibility"] == "public"
    assert payload["properties"] == {"a": "b"} and payload["tags"] == ["t"]
    assert payload["created_at"] == "2024-05-06T07:08:09Z"
    assert "locations" not in payload and "secret" not in repr(payload)
    record = {"id": "i1", "status": "active", "properties": {"x": "y"}, "tags": []}
    assert notifier.image_payload(record)["properties"] == {"x": "y"}


def test_import_properties_are_lists():
    image = Image(id="i", extra={"os_glance_importing_to_stores": "a,b",
                                 "os_glance_failed_import": ""})
    assert notifier.import_properties(image) == {
        "os_glance_importing_to_stores": ["a", "b"], "os_glance_failed_import": []}


def test_task_payload_hides_input_and_shows_outcome():
    task = {"id": "t", "type": "import", "status": "failure", "owner": "p",
            "input": {"import_from": "http://user:pw@host/"}, "message": "boom",
            "result": None, "expires_at": WHEN, "created_at": WHEN, "updated_at": WHEN}
    payload = notifier.task_payload(task)
    assert "input" not in payload and "pw" not in repr(payload)
    assert payload["message"] == "boom" and payload["result"] is None
    success = notifier.task_payload({**task, "status": "success", "result": {"a": 1}})
    assert success["result"] == {"a": 1} and success["message"] is None


def test_metadef_payloads():
    prop = notifier.property_payload("ns", {"name": "p", "schema": {"type": "string",
                                                                  "enum": ["a"]}},
                                     old_name="q")
    assert (prop["namespace"], prop["name"], prop["name_old"]) == ("ns", "p", "q")
    assert prop["type"] == "string" and prop["enum"] == ["a"] and prop["minimum"] is None
    obj = notifier.object_payload("ns", {"name": "o", "required": [],
                                         "properties": {"x": {"type": "integer"}}})
    assert obj["properties"] == [{"name": "x", **{k: None for k in notifier._SCHEMA_KEYS},
                                  "type": "integer"}]
    deleted = notifier.tag_payload("ns", {"name": "t"}, **notifier.deleted())
    assert deleted["deleted"] is True and deleted["deleted_at"].endswith("Z")


def test_send_meter_counts_and_reports_short_reads(monkeypatch):
    sent: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(notifier, "notify", lambda ctx, event, payload, priority="info":
                        sent.append((event, priority, payload())))

    def reader(offset, length):
        yield b"abc"
        yield b"de"

    meter = notifier.SendMeter(None, Image(id="i", owner="o"), "10.0.0.1")
    assert list(meter.wrap(reader)(0, None)) == [b"abc", b"de"]
    meter.close()
    meter.close()
    assert [(e, p, d["bytes_sent"]) for e, p, d in sent] == [("image.send", "info", 5)]

    sent.clear()
    short = notifier.SendMeter(None, Image(id="i"), None)
    chunks = short.wrap(reader)(0, None)
    next(chunks)
    short.close()
    assert [(p, d["bytes_sent"]) for _e, p, d in sent] == [("error", 3)]

    sent.clear()
    notifier.SendMeter(None, Image(id="i"), None).close()  # HEAD / 304: nothing read
    assert sent == []


@pytest.mark.parametrize("drivers, expected", [([], False), (["noop"], False),
                                               (["log"], True), (["noop", "log"], True)],
                         ids=["none", "noop", "log", "noop-and-log"])
def test_enabled_only_with_a_real_driver(override, drivers, expected):
    """No driver (the default) means no notifications: the payload is never built."""
    notifier._notifier()  # registers oslo.messaging's options
    override("driver", drivers, group="oslo_messaging_notifications")
    assert notifier.enabled("image.create") is expected
    built = []
    override("disabled_notifications", [])
    if not expected:
        notifier.notify(None, "image.create", lambda: built.append(1) or {})
        assert built == []


def test_member_payload_carries_a_subtree_or_domain_scope_only():
    row = {"image_id": "i", "member": "p", "status": "accepted", "created_at": None,
           "updated_at": None}
    assert "scope" not in notifier.member_payload({**row, "scope": None})
    assert notifier.member_payload({**row, "scope": "subtree"})["scope"] == "subtree"
    assert notifier.member_payload({**row, "scope": "domain"})["scope"] == "domain"
