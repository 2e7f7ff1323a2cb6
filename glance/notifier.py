"""Notifications on the message bus: Glance's event types and payloads.

Services call :func:`notify` (or a typed helper such as :func:`image`) once per
use case, after the database/store work succeeded. Nothing here may slow down
or fail an API call:

* with no ``[oslo_messaging_notifications] driver`` (the default) or with the
  event in ``[DEFAULT] disabled_notifications``, the call returns at once and
  the payload is never built (payloads may be given as callables);
* otherwise the payload is built in the caller's thread (it reads the objects
  the caller holds) and handed to one background thread per process through a
  bounded queue; the thread sends it with oslo.messaging. A full queue, or a bus
  that refuses the message, means the notification is logged and dropped.

Payload fields and event names are Glance's, so Ceilometer and other consumers
of Glance's notifications read ours unchanged. Image locations are never part
of a payload (they may hold credentials), nor is a task's input.
"""

import atexit
import fnmatch
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging

import glance.conf  # noqa: F401 - registers [DEFAULT] disabled_notifications & co.

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
CONTROL_EXCHANGE = "glance"
FLUSH_AT_EXIT = 5.0

Payload = Mapping[str, Any] | str | Callable[[], Mapping[str, Any] | str]

# Every event type this service emits (the documentation lists the same).
EVENT_TYPES = (
    "image.create", "image.update", "image.delete", "image.prepare", "image.upload",
    "image.activate", "image.send",
    "image.member.create", "image.member.update", "image.member.delete",
    "task.create", "task.run", "task.processing", "task.success", "task.failure",
    "metadef_namespace.create", "metadef_namespace.update", "metadef_namespace.delete",
    "metadef_namespace.delete_objects", "metadef_namespace.delete_properties",
    "metadef_namespace.delete_tags",
    "metadef_object.create", "metadef_object.update", "metadef_object.delete",
    "metadef_property.create", "metadef_property.update", "metadef_property.delete",
    "metadef_tag.create", "metadef_tag.update", "metadef_tag.delete",
    "metadef_resource_type.create", "metadef_resource_type.delete",
)


# -- time --------------------------------------------------------------------------------

def isotime(value: datetime | None = None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (Glance's notification format); now when None."""
    if value is None:
        value = datetime.now(UTC)
    elif value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else isotime(value)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """An attribute of an entity or a key of a repository dict."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


# -- payload builders --------------------------------------------------------------------

def image_payload(image: Any, **extra: Any) -> dict[str, Any]:
    """An image's metadata (never its locations); ``image`` is an Image or a record."""
    properties = _get(image, "extra")
    if properties is None:
        properties = _get(image, "properties", {})
    visibility = _get(image, "visibility")
    payload = {
        "id": _get(image, "id"),
        "name": _get(image, "name"),
        "status": _get(image, "status"),
        "created_at": _stamp(_get(image, "created_at")),
        "updated_at": _stamp(_get(image, "updated_at")),
        "min_disk": _get(image, "min_disk"),
        "min_ram": _get(image, "min_ram"),
        "protected": _get(image, "protected"),
        "checksum": _get(image, "checksum"),
        "owner": _get(image, "owner"),
        "disk_format": _get(image, "disk_format"),
        "container_format": _get(image, "container_format"),
        "size": _get(image, "size"),
        "virtual_size": _get(image, "virtual_size"),
        "is_public": visibility == "public",
        "visibility": visibility,
        "properties": dict(properties or {}),
        "tags": list(_get(image, "tags") or []),
        "deleted": False,
        "deleted_at": None,
    }
    payload.update(extra)
    return payload


def deleted() -> dict[str, Any]:
    """The extra fields of a ``*.delete`` payload."""
    return {"deleted": True, "deleted_at": isotime()}


def import_properties(image: Any) -> dict[str, list[str]]:
    """Where an import is going and where it failed, as lists (upload/prepare extras)."""
    properties = _get(image, "extra")
    if properties is None:
        properties = _get(image, "properties", {})

    def _split(name: str) -> list[str]:
        value = (properties or {}).get(name)
        return [item for item in value.split(",") if item] if value else []

    return {"os_glance_importing_to_stores": _split("os_glance_importing_to_stores"),
            "os_glance_failed_import": _split("os_glance_failed_import")}


def image_send_payload(image: Any, context: Any, bytes_sent: int,
                       destination_ip: str | None) -> dict[str, Any]:
    """Who downloaded how many bytes of which image."""
    return {"bytes_sent": bytes_sent, "image_id": _get(image, "id"),
            "owner_id": _get(image, "owner"),
            "receiver_tenant_id": getattr(context, "project_id", None),
            "receiver_user_id": getattr(context, "user_id", None),
            "destination_ip": destination_ip}


def member_payload(member: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """An image membership (repository dict with ``member`` or ``member_id``)."""
    payload = {"image_id": member.get("image_id"),
               "member_id": member.get("member_id", member.get("member")),
               "status": member.get("status"),
               "created_at": _stamp(member.get("created_at")),
               "updated_at": _stamp(member.get("updated_at")),
               "deleted": False, "deleted_at": None}
    if member.get("scope"):  # a subtree or domain entry (hierarchical image access)
        payload["scope"] = member["scope"]
    payload.update(extra)
    return payload


def task_payload(task: Any, **extra: Any) -> dict[str, Any]:
    """A task without its input (it may hold credentials in URLs)."""
    status = _get(task, "status")
    payload = {"id": _get(task, "id"), "type": _get(task, "type"), "status": status,
               "result": _get(task, "result") if status == "success" else None,
               "owner": _get(task, "owner"),
               "message": (_get(task, "message") or None) if status == "failure" else None,
               "expires_at": _stamp(_get(task, "expires_at")),
               "created_at": _stamp(_get(task, "created_at")),
               "updated_at": _stamp(_get(task, "updated_at")),
               "deleted": False, "deleted_at": None}
    payload.update(extra)
    return payload


def namespace_payload(namespace: Mapping[str, Any], old_name: str | None = None,
                      **extra: Any) -> dict[str, Any]:
    """A metadef namespace's attributes (not its contents)."""
    payload = {"namespace": namespace.get("namespace"),
               "namespace_old": old_name or namespace.get("namespace"),
               "display_name": namespace.get("display_name"),
               "protected": namespace.get("protected"),
               "visibility": namespace.get("visibility"),
               "owner": namespace.get("owner"),
               "description": namespace.get("description"),
               "created_at": _stamp(namespace.get("created_at")),
               "updated_at": _stamp(namespace.get("updated_at")),
               "deleted": False, "deleted_at": None}
    payload.update(extra)
    return payload


_SCHEMA_KEYS = ("type", "title", "description", "default", "minimum", "maximum", "enum",
                "pattern", "minLength", "maxLength", "confidential", "items",
                "uniqueItems", "minItems", "maxItems", "additionalItems")


def _property_fields(schema: Mapping[str, Any], empty_as_none: bool) -> dict[str, Any]:
    if empty_as_none:
        return {key: schema.get(key) or None for key in _SCHEMA_KEYS}
    return {key: schema.get(key) for key in _SCHEMA_KEYS}


def object_payload(namespace: str, obj: Mapping[str, Any], old_name: str | None = None,
                   **extra: Any) -> dict[str, Any]:
    """A metadef object; its properties as a list of ``{name, type, ...}``."""
    properties = [{"name": name, **_property_fields(schema or {}, True)}
                  for name, schema in (obj.get("properties") or {}).items()]
    payload = {"namespace": namespace, "name": obj.get("name"),
               "name_old": old_name or obj.get("name"), "properties": properties,
               "required": obj.get("required"), "description": obj.get("description"),
               "created_at": _stamp(obj.get("created_at")),
               "updated_at": _stamp(obj.get("updated_at")),
               "deleted": False, "deleted_at": None}
    payload.update(extra)
    return payload


def property_payload(namespace: str, prop: Mapping[str, Any], old_name: str | None = None,
                     **extra: Any) -> dict[str, Any]:
    """A metadef property: its name and JSON-schema keywords at the top level."""
    payload = {"namespace": namespace, "name": prop.get("name"),
               "name_old": old_name or prop.get("name"),
               **_property_fields(prop.get("schema") or {}, False),
               "deleted": False, "deleted_at": None}
    payload.update(extra)
    return payload


def tag_payload(namespace: str, tag: Mapping[str, Any], old_name: str | None = None,
                **extra: Any) -> dict[str, Any]:
    """A metadef tag."""
    payload = {"namespace": namespace, "name": tag.get("name"),
               "name_old": old_name or tag.get("name"),
               "created_at": _stamp(tag.get("created_at")),
               "updated_at": _stamp(tag.get("updated_at")),
               "deleted": False, "deleted_at": None}
    payload.update(extra)
    return payload


def resource_type_payload(namespace: str, association: Mapping[str, Any],
                          **extra: Any) -> dict[str, Any]:
    """A resource type association of a namespace."""
    payload = {"namespace": namespace, "name": association.get("name"),
               "name_old": association.get("name"), "prefix": association.get("prefix"),
               "properties_target": association.get("properties_target"),
               "created_at": _stamp(association.get("created_at")),
               "updated_at": _stamp(association.get("updated_at")),
               "deleted": False, "deleted_at": None}
    payload.update(extra)
    return payload


# -- filtering ---------------------------------------------------------------------------

def event_disabled(event_type: str, disabled: Iterable[str] | None = None) -> bool:
    """Whether ``[DEFAULT] disabled_notifications`` switches ``event_type`` off.

    An entry matches the event type itself, any dotted prefix of it (a group:
    ``image``, ``image.member``) or, as a shell pattern, the whole name (``image.*``).
    """
    for entry in (CONF.disabled_notifications if disabled is None else disabled):
        entry = entry.strip()
        if not entry:
            continue
        if event_type == entry or event_type.startswith(entry + "."):
            return True
        if any(char in entry for char in "*?[") and fnmatch.fnmatchcase(event_type, entry):
            return True
    return False


# -- sending -----------------------------------------------------------------------------

class _Sender:
    """One background thread per process sending queued notifications."""

    def __init__(self, notifier: oslo_messaging.Notifier, size: int) -> None:
        self.notifier = notifier
        self.queue: queue.Queue = queue.Queue(maxsize=size)
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, name="glance-notifier",
                                       daemon=True)
        self.thread.start()

    def put(self, item: tuple[str, dict, str, Any]) -> bool:
        try:
            self.queue.put_nowait(item)
            return True
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                LOG.warning("Notification queue full (message bus slow or down): "
                            "%d notification(s) dropped so far, latest %s",
                            self.dropped, item[2])
            return False

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                priority, ctxt, event_type, payload = item
                getattr(self.notifier, priority)(ctxt, event_type, payload)
            except Exception as err:  # noqa: BLE001 - a notification never kills the thread
                LOG.warning("Notification %s dropped: %s", item[2] if item else "", err)
            finally:
                self.queue.task_done()

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the queue to empty; True when it did."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True


_lock = threading.Lock()
_state: dict[str, Any] = {"pid": None, "notifier": None, "sender": None}


def _notifier() -> oslo_messaging.Notifier:
    """This process's oslo.messaging Notifier (built once, no connection yet)."""
    with _lock:
        if _state["notifier"] is None or _state["pid"] != os.getpid():
            oslo_messaging.set_transport_defaults(CONTROL_EXCHANGE)
            transport = oslo_messaging.get_notification_transport(CONF)
            _state["notifier"] = oslo_messaging.Notifier(
                transport, publisher_id=CONF.default_publisher_id)
            _state["sender"] = None
            _state["pid"] = os.getpid()
        return _state["notifier"]


def _sender() -> _Sender:
    notifier = _notifier()
    with _lock:
        if _state["sender"] is None:
            _state["sender"] = _Sender(notifier, CONF.notification_queue_size)
        return _state["sender"]


def enabled(event_type: str) -> bool:
    """Whether ``event_type`` would be sent (a driver is set and it is not disabled)."""
    if event_disabled(event_type):
        return False
    try:
        notifier = _notifier()  # also registers oslo.messaging's options
        # oslo.messaging's is_enabled() is true for an empty driver list (it only
        # recognises an explicit "noop"): without this every event would build its
        # payload and queue it for a notifier that drops it.
        drivers = [name for name in CONF.oslo_messaging_notifications.driver
                   if name and name != "noop"]
        return bool(drivers) and notifier.is_enabled()
    except Exception as err:  # noqa: BLE001 - a bad transport_url must not fail the API
        LOG.warning("Notifications are off: cannot set up the message bus: %s", err)
        return False


def _context_dict(context: Any) -> dict[str, Any]:
    """What travels as the message's context: identifiers only, never a token."""
    if context is None:
        return {}
    return {name: getattr(context, name, None)
            for name in ("request_id", "global_request_id", "user_id", "project_id")}


def notify(context: Any, event_type: str, payload: Payload, priority: str = "info") -> None:
    """Queue one notification; returns at once, whatever the bus does.

    ``payload`` may be a callable, called only when the event is enabled.
    """
    try:
        if not enabled(event_type):
            return
        body = payload() if callable(payload) else payload
        _sender().put((priority, _context_dict(context), event_type, body))
    except Exception:  # noqa: BLE001 - notifications never fail the API call
        LOG.exception("Notification %s not sent", event_type)


def _resolve(image_: Any) -> Any:
    return image_() if callable(image_) else image_


def image(context: Any, event_type: str, image_: Any, **extra: Any) -> None:
    """Notify an image event (``image.create``, ``image.update``...); ``image_`` is an
    Image, a repository record or a callable returning one (read only when enabled)."""
    notify(context, event_type, lambda: image_payload(_resolve(image_), **extra))


def preparing(context: Any, image_: Any, backend: str | None = None) -> None:
    """``image.prepare``: data is about to be written to a store."""
    def payload() -> dict[str, Any]:
        found = _resolve(image_)
        extra: dict[str, Any] = dict(import_properties(found))
        if backend:
            extra["backend"] = backend
        return image_payload(found, **extra)
    notify(context, "image.prepare", payload)


def uploaded(context: Any, image_: Any, activated: bool = True) -> Any:
    """``image.upload`` (and ``image.activate`` when the image became active);
    returns ``image_`` so a service can ``return notifier.uploaded(...)``."""
    def payload() -> dict[str, Any]:
        found = _resolve(image_)
        return image_payload(found, **import_properties(found))
    notify(context, "image.upload", payload)
    if activated:
        image(context, "image.activate", image_)
    return image_


def upload_failed(context: Any, image_id: str, error: BaseException) -> None:
    """``image.upload`` at ``error`` priority; the payload is a message (as Glance's)."""
    reason = str(error) or type(error).__name__
    notify(context, "image.upload",
           f"Failed to upload image data for image {image_id}: {reason}", "error")


def task(context: Any, event_type: str, task_: Any) -> None:
    """Notify a task event (``task.create``, ``task.success``...)."""
    notify(context, event_type, lambda: task_payload(task_))


# -- download metering -------------------------------------------------------------------

Reader = Callable[[int, int | None], Iterator[bytes]]


class SendMeter:
    """Counts the image bytes a download hands the server and sends ``image.send``
    once, when the response is closed: ``info`` when every read it started ran to
    its end, ``error`` when the client went away first. Nothing is sent when no
    data was read at all (HEAD, 304)."""

    def __init__(self, context: Any, image_: Any, destination_ip: str | None) -> None:
        self.context = context
        self.image = image_
        self.destination_ip = destination_ip
        self.sent = 0
        self.started = 0
        self.finished = 0
        self.closed = False

    def wrap(self, read: Reader) -> Reader:
        """A reader counting what ``read`` yields."""
        def counted(offset: int, length: int | None) -> Iterator[bytes]:
            self.started += 1
            for chunk in read(offset, length):
                self.sent += len(chunk)
                yield chunk
            self.finished += 1
        return counted

    def close(self) -> None:
        if self.closed or not self.started:
            return
        self.closed = True
        priority = "info" if self.finished == self.started else "error"
        notify(self.context, "image.send", lambda: image_send_payload(
            self.image, self.context, self.sent, self.destination_ip), priority)


def send_meter(context: Any, image_: Any, destination_ip: str | None) -> SendMeter | None:
    """A meter for one download, or None when ``image.send`` is not sent."""
    return SendMeter(context, image_, destination_ip) if enabled("image.send") else None


# -- life cycle --------------------------------------------------------------------------

def flush(timeout: float = FLUSH_AT_EXIT) -> bool:
    """Wait for queued notifications to be sent (tests, shutdown)."""
    sender = _state["sender"] if _state["pid"] == os.getpid() else None
    return True if sender is None else sender.flush(timeout)


def reset() -> None:
    """Forget the notifier (after a configuration change, in tests)."""
    with _lock:
        sender = _state["sender"]
        if sender is not None and _state["pid"] == os.getpid():
            sender.put(None)
        _state.update(pid=None, notifier=None, sender=None)


atexit.register(flush)
