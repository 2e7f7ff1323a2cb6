"""Interoperable image import: stage, then import (glance-direct, web-download,
copy-image, glance-download), and the legacy ``import`` task.

Every import is an ``api_image_import`` task run on the background executor:

1. the data is brought to the staging area (``[os_glance_staging_store]``):
   already there for glance-direct, downloaded for web-download and
   glance-download (glance/services/glance_download.py), read from an existing
   store for copy-image;
2. it is written to each target store through glance.store (md5 and os_hash
   computed on the stream);
3. the image becomes ``active`` with its checksum, hash and locations; the task
   ends in ``success``. On failure the image goes back to ``queued`` (copy-image:
   stays active), ``os_glance_failed_import`` names the stores that failed and the
   task's message says why. The staged data is removed either way.
"""

import os
from collections.abc import Callable, Iterable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from glance import (
    exception,
    format_inspection,
    keystone_limits,
    notifier,
    quota,
    schema,
    signatures,
)
from glance import store as image_store
from glance.conf import image_import as import_conf
from glance.domain import image as image_domain
from glance.domain import task as task_domain
from glance.services import (
    access,
    background,
    glance_download,
    import_plugins,
    stage_host,
    web_download,
)
from glance.services.discovery import DiscoveryService
from glance.services.images import ImageService
from glance.services.task_lifecycle import TaskLifecycle

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
CHUNK = 1024 * 1024
MIB = 1024 * 1024
IMPORT_TASK = "os_glance_import_task"
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"


def staging_dir() -> str:
    path = os.path.abspath(import_conf.staging_path(CONF))
    os.makedirs(path, exist_ok=True)
    return path


def staged_path(image_id: str) -> str:
    return os.path.join(staging_dir(), image_id)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        LOG.error("Cannot remove staged data %s: %s", path, err)


def _signed(chunks: Iterable[bytes], signature: signatures.Signature | None
            ) -> Iterable[bytes]:
    """The chunks, through the signature check when there is one."""
    return signature.stream(chunks) if signature is not None else chunks


def _locked_by(image: dict[str, Any], task_id: str | None) -> bool:
    return task_id is not None and image.get("properties", {}).get(IMPORT_TASK) == task_id


def _unlocked(properties: dict[str, str | None], task_id: str | None
              ) -> dict[str, str | None]:
    """``properties`` without the import lock ``task_id`` holds: a finished import
    drops it, as OpenStack Glance does (which refuses an import on an image whose lock
    names a task that ended less than an hour ago)."""
    if task_id is None or properties.get(IMPORT_TASK) != task_id:
        return properties
    return {name: value for name, value in properties.items() if name != IMPORT_TASK}


def _check_status(status: str, method: str, image_id: str,
                  staged_elsewhere: bool = False) -> None:
    """409 unless an image in ``status`` can be the target of ``method`` (glance-direct:
    data staged here, or on the node ``staged_elsewhere`` says)."""
    if method == "glance-direct":
        if status == "queued" or (
                status == "uploading" and not staged_elsewhere
                and not os.path.exists(staged_path(image_id))):
            raise exception.Conflict("Image needs to be staged before 'glance-direct' "
                                     "method can be used")
        if status != "uploading":
            raise exception.Conflict(f"Image with status {status} cannot be target for "
                                     "import")
    elif method in ("web-download", "glance-download"):
        if status == "active" or (method == "web-download" and status != "queued"):
            raise exception.Conflict(f"Image with status {status} cannot be target for "
                                     "import")
        if status != "queued":
            raise exception.Conflict("Image needs to be in 'queued' state to use "
                                     "'glance-download' method")
    elif status != "active":
        raise exception.Conflict(f"Image with status {status} cannot be copied; only "
                                 "active images can.")


class ImportService:
    """Staging and import, with policy, status rules and the background run."""

    def __init__(self, db, access_: access.ImageAccess, tasks: TaskLifecycle,
                 discovery: DiscoveryService, images: ImageService,
                 store=image_store,
                 limits: keystone_limits.KeystoneLimits | None = None) -> None:
        self.db = db
        self.limits = limits or keystone_limits.KeystoneLimits()
        self.access = access_
        self.tasks = tasks
        self.discovery = discovery
        self.images = images
        self.store = store

    # -- stage --------------------------------------------------------------------------

    def stage(self, context, image_id: str, chunks, size: int | None) -> None:
        """Write the request body to the staging area; the image becomes ``uploading``."""
        # Staging has no rule of its own; Glance checks modify_image for it.
        image = self.access.authorized(context, image_id, "modify_image")
        image_domain.check_transition(image.status, "uploading")
        used = (self.db.owner_storage_usage(image.owner, image.id)
                if quota.storage_quota() > 0 else None)
        limit = quota.upload_limit(used)
        project = self.limits.project(context.owner)
        if project is not None:
            project.add_budget(limit, keystone_limits.STAGE_TOTAL, size)
        if size is not None:
            limit.check(size)
        access.check_mutable(context, image.owner)
        self.db.image_update(context, image_id, {"status": "uploading"},
                             expected_status=image.status)
        if project is not None:  # this upload counts itself, as in Glance
            try:
                project.enforce(keystone_limits.COUNT_UPLOADING)
            except BaseException:
                self._set_back(context, image_id, "uploading", {})
                raise
        path = staged_path(image_id)
        stream: Iterable[bytes] = quota.LimitedStream(chunks, limit)
        if import_plugins.DECOMPRESSION not in import_plugins.enabled():
            # compressed data is inspected once decompressed, when it is stored
            stream = format_inspection.inspect_stream(stream, image.disk_format,
                                                      image.container_format)
        try:
            written = 0
            with open(path, "wb") as handle:
                for chunk in stream:
                    handle.write(chunk)
                    written += len(chunk)
            # Record where the data is, so other nodes forward the import here.
            here = stage_host.self_url()
            props = {**image.extra, stage_host.STAGE_HOST: here} if here else None
            self.db.image_update(context, image_id, {"size": written}, properties=props,
                                 expected_status="uploading")
        except BaseException:
            _remove(path)
            self._set_back(context, image_id, "uploading", {})
            raise

    def _set_back(self, context, image_id: str, current: str,
                  properties: dict[str, str] | None, unlock: str | None = None) -> None:
        """``current`` -> queued after a failure (no data, no size); with ``unlock``,
        the import lock of that task goes too."""
        try:
            image = self.db.image_get(context, image_id)
            props = None
            if properties or _locked_by(image, unlock):
                props = _unlocked({**image.get("properties", {}), **(properties or {})},
                                  unlock)
            self.db.image_update(context, image_id, {"status": "queued", "size": None},
                                 properties=props, expected_status=current)
        except exception.GlanceException as err:
            LOG.info("Image %s not put back to queued: %s", image_id, err)

    # -- import -------------------------------------------------------------------------

    def import_image(self, context, image_id: str, method: str, uri: str | None = None,
                     stores: list[str] | None = None, all_stores: bool = False,
                     all_stores_must_succeed: bool = True,
                     header_store: str | None = None,
                     request_body: dict[str, Any] | None = None,
                     forward: stage_host.Forward | None = None
                     ) -> task_domain.Task | stage_host.Forwarded:
        """Check and start an import; returns its ``api_image_import`` task. A
        glance-direct import of data staged on another node is checked here, then
        handed to that node with ``forward`` (when given)."""
        if method not in self.discovery.import_methods():
            raise exception.UnknownImportMethod(method=method)
        self.limits.enforce(context.owner, keystone_limits.SIZE_TOTAL)
        image = self.access.get(context, image_id)
        self.access.authorize(context, "copy_image" if method == "copy-image"
                              else "modify_image", image)
        stage_remote = (stage_host.remote_host(image.extra)
                        if method == "glance-direct" and forward is not None else None)
        self._check_importable(image, method, uri,
                               staged_elsewhere=stage_remote is not None)
        remote = None
        if method == "glance-download":
            remote = glance_download.parse_method((request_body or {}).get("method") or {},
                                                  context)
        targets = self._targets(image, method, stores, all_stores, header_store)
        if stage_remote is not None and forward is not None:
            LOG.info("Image %s was staged on %s: forwarding the import there",
                     image.id, stage_remote)
            return stage_host.Forwarded(forward(stage_remote))
        task_input = {"image_id": image.id, "import_req": request_body or {},
                      "backend": targets if self.discovery.multi_store() else None}
        task = self.tasks.new_task(context, "api_image_import", task_input,
                                   image_id=image.id, owner=image.owner)
        props = {**{k: v for k, v in image.extra.items() if k != stage_host.STAGE_HOST},
                 IMPORT_TASK: task.id, IMPORTING: ",".join(t for t in targets if t),
                 FAILED: ""}
        values: dict[str, Any] = {}
        if method != "copy-image":
            image_domain.check_transition(image.status, "importing")
            values["status"] = "importing"
        try:
            access.check_mutable(context, image.owner)
            self.db.image_update(context, image.id, values, properties=props,
                                 expected_status=image.status)
        except exception.GlanceException as err:
            self.tasks.fail(task.id, str(err), expected_status="pending")
            raise
        notifier.image(context, "image.update", lambda: self.db.image_get(context, image.id))
        must_succeed = all_stores_must_succeed
        # The requester's token fetches a signed image's certificate (the task's own
        # context has none); the requester's roles decide inject_image_metadata.
        roles = list(getattr(context, "roles", None) or [])
        self.tasks.submit(task, lambda t: self._run(t, image.id, method, uri, targets,
                                                    must_succeed, remote,
                                                    requester=context, roles=roles))
        return task

    @staticmethod
    def _check_importable(image: image_domain.Image, method: str, uri: str | None,
                          staged_elsewhere: bool = False) -> None:
        """409 unless the status and formats allow ``method``; 400 for a bad URI."""
        _check_status(image.status, method, image.id, staged_elsewhere)
        for name in ("container_format", "disk_format"):  # Glance's order
            if not getattr(image, name):
                raise exception.Conflict(f"'{name}' needs to be set before import")
        if method == "web-download":
            if not uri or not isinstance(uri, str):
                raise exception.BadRequest("URI is required for the web-download import "
                                           "method: {'method': {'name': 'web-download', "
                                           "'uri': '<uri>'}}")
            web_download.check(uri, "web-download")

    def _targets(self, image: image_domain.Image, method: str, stores: list[str] | None,
                 all_stores: bool, header_store: str | None) -> list[str | None]:
        if not self.discovery.multi_store():
            return [None]
        known = self.discovery.store_ids()
        if all_stores and (stores or header_store):
            raise exception.BadRequest("all_stores cannot be combined with the stores "
                                       "parameter or the X-Image-Meta-Store header.")
        if all_stores:
            targets = [s for s in known if not self.discovery.read_only(s)]
        elif stores:
            targets = list(dict.fromkeys(stores))
        elif header_store:
            targets = [header_store]
        elif method == "copy-image":
            raise exception.BadRequest("copy-image needs 'stores' or 'all_stores'.")
        else:
            targets = [self.discovery.default_store()]
        for store_id in targets:
            if store_id not in known:
                raise exception.UnknownStore(store=store_id)
            if self.discovery.read_only(store_id) and not all_stores:
                raise exception.BadRequest(f"Store {store_id} is read-only.")
        if method == "copy-image":
            present = {(loc.get("metadata") or {}).get("store")
                       for loc in image.locations if loc.get("status") == "active"}
            targets = [t for t in targets if t not in present]
            if not targets:
                raise exception.Conflict("The image is already present in every "
                                         "requested store.")
        return targets

    # -- the background run -------------------------------------------------------------

    def _run(self, task: task_domain.Task, image_id: str, method: str, uri: str | None,
             targets: list[str | None], must_succeed: bool,
             remote: glance_download.RemoteRef | None = None,
             requester=None, roles: list[str] | None = None) -> None:
        context = background.task_context(task)
        path = staged_path(image_id)
        failed: list[str | None] = []
        restore: Callable[[], None] | None = None
        try:
            self._check_import_limits(context, image_id, method)
            signature = signatures.prepare(requester or context, image_id, self.db.image_get(
                context, image_id).get("properties"))
            if method == "web-download":
                limit = self._limit(context, image_id)
                web_download.fetch_to_file(uri or "", path, limit)
            elif method == "glance-download" and remote is not None:
                restore = self._download_remote(context, image_id, remote, path)
            elif method == "copy-image":
                self._copy_to_staging(context, image_id, path)
            elif not os.path.exists(path):
                raise exception.ImportFailed(reason="the staged data is gone")
            prepared = None
            if method != "copy-image" and import_plugins.enabled():
                prepared = self._run_plugins(context, image_id, path, roles or [])
            size = self._store_all(context, image_id, path, targets, failed,
                                   must_succeed, activate=method != "copy-image",
                                   signature=signature, prepared=prepared)
        except Exception as err:  # noqa: BLE001 - every failure ends the task
            reason = str(err) or type(err).__name__
            LOG.warning("Import of image %s (task %s) failed: %s", image_id, task.id, reason)
            if restore is not None:
                restore()
            failed_ids = failed or [t for t in targets]
            props = {IMPORTING: "", FAILED: ",".join(t for t in failed_ids if t)}
            if method == "copy-image":
                self._set_properties(context, image_id, props, unlock=task.id)
            else:
                self._set_back(context, image_id, "importing", props, unlock=task.id)
            self.tasks.fail(task.id, reason, expected_status="processing")
            return
        finally:
            _remove(path)
        self._set_properties(context, image_id,
                             {IMPORTING: "", FAILED: ",".join(t for t in failed if t)},
                             unlock=task.id)
        self.tasks.succeed(task.id, {"image_id": image_id},
                           message=f"Copied {size // MIB} MiB")

    def _download_remote(self, context, image_id: str, ref: glance_download.RemoteRef,
                         path: str) -> Callable[[], None]:
        """glance-download: take the remote image's formats and carried properties,
        stage its data; returns what puts the image's own values back on failure."""
        remote = glance_download.fetch_record(ref)
        before = self.db.image_get(context, image_id)
        old_props = dict(before.get("properties", {}))
        old_formats = {name: before.get(name) for name in ("disk_format",
                                                           "container_format")}
        self.db.image_update(context, image_id, remote.formats(),
                             properties={**old_props, **remote.carried_properties()},
                             expected_status="importing")

        def restore() -> None:
            current = self.db.image_get(context, image_id).get("properties", {})
            kept = {k: v for k, v in current.items() if k.startswith("os_glance")}
            self.db.image_update(context, image_id, old_formats,
                                 properties={**old_props, **kept})

        try:
            glance_download.fetch_data(ref, remote, path, self._limit(context, image_id))
        except BaseException:
            restore()
            raise
        return restore

    def _run_plugins(self, context, image_id: str, path: str, roles: list[str]
                     ) -> import_plugins.Prepared:
        """The import plugins (not for copy-image, as in Glance); injected
        properties are set on the image before its data is stored."""
        image = self.db.image_get(context, image_id)
        prepared = import_plugins.prepare(image, path, roles, self._limit(context, image_id))
        if prepared.properties:
            self._set_properties(context, image_id, prepared.properties)
        return prepared

    def _limit(self, context, image_id: str) -> quota.UploadLimit:
        image = self.db.image_get(context, image_id)
        used = (self.db.owner_storage_usage(image["owner"], image_id)
                if quota.storage_quota() > 0 else None)
        limit = quota.upload_limit(used)
        project = self.limits.project(context.owner)
        if project is not None:  # a download to staging, then to the store
            project.add_budget(limit, keystone_limits.STAGE_TOTAL, None)
            project.add_budget(limit, keystone_limits.SIZE_TOTAL, None)
        return limit

    def _check_import_limits(self, context, image_id: str, method: str) -> None:
        """The Keystone limits an import run checks first, as Glance: glance-direct
        the staged size against image_size_total; the others image_stage_total and
        image_count_uploading."""
        project = self.limits.project(context.owner)
        if project is None:
            return
        size = self.db.image_get(context, image_id).get("size") or 0
        if method == "glance-direct":
            project.check_size(keystone_limits.SIZE_TOTAL, size)
        else:
            project.enforce_bytes(keystone_limits.STAGE_TOTAL, size)
            project.enforce(keystone_limits.COUNT_UPLOADING)

    def _copy_to_staging(self, context, image_id: str, path: str) -> None:
        image = self.db.image_get(context, image_id)
        locations = [loc for loc in image["locations"] if loc.get("status") == "active"]
        if not locations:
            raise exception.ImportFailed(reason="the image has no data to copy")
        with open(path, "xb") as handle:
            for chunk in self.store.get(locations[0], context=context):
                handle.write(chunk)

    def _store_all(self, context, image_id: str, path: str, targets: list[str | None],
                   failed: list[str | None], must_succeed: bool, activate: bool,
                   signature: signatures.Signature | None = None,
                   prepared: import_plugins.Prepared | None = None) -> int:
        """Write the staged (or converted) data to every target; returns the size."""
        prepared = prepared or import_plugins.Prepared(path=path)
        size = prepared.data_size()
        image = {**self.db.image_get(context, image_id), **prepared.values}
        written: list[image_store.StoredData] = []
        active = not activate
        vsize: int | None = None  # the inspected virtual size
        for target in targets:
            chunks = verified = _signed(prepared.chunks(), signature)
            if activate:  # inspected on the same read that writes the store
                chunks = inspected = format_inspection.inspect_stream(
                    chunks, image.get("disk_format"), image.get("container_format"))
            notifier.preparing(context, lambda: self.db.image_get(context, image_id), target)
            try:
                stored = self.store.add(image_id, chunks, size,
                                        CONF.hashing_algorithm, backend=target,
                                        context=context)
                self._finish_verifying(verified, stored, context)
                if activate:
                    vsize = inspected.virtual_size(stored.size)
            except (exception.InvalidImageFormat, exception.SignatureVerificationFailed) as err:
                self._delete_written(written, context)
                raise exception.ImportFailed(reason=str(err)) from err
            except Exception as err:  # noqa: BLE001 - recorded per store
                failed.append(target)
                LOG.warning("Import of image %s to store %s failed: %s", image_id,
                            target, err)
                if must_succeed:
                    self._delete_written(written, context)
                    where = f" to store {target}" if target else ""
                    raise exception.ImportFailed(reason=f"writing the data{where} failed: {err}") \
                        from err
                continue
            written.append(stored)
            if not must_succeed:
                active = self._record(context, image, stored, vsize, active)
                self._set_properties(context, image_id, {IMPORTING: ",".join(
                    t for t in targets[targets.index(target) + 1:] if t)})
        if not written:
            raise exception.ImportFailed(reason="the data could not be written to any store")
        if must_succeed:
            try:
                for stored in written:
                    active = self._record(context, image, stored, vsize, active)
            except Exception:
                self._delete_written(written, context)
                raise
        return size

    def _record(self, context, image: dict[str, Any], stored: image_store.StoredData,
                virtual_size: int | None, active: bool) -> bool:
        """Add a location; the first one also makes the image active. Returns True."""
        if active:
            self.db.image_activate_with_location(context, image["id"], {}, stored.url,
                                                 stored.metadata, expected_status="active")
            notifier.uploaded(context, lambda: self.db.image_get(context, image["id"]), False)
            return True
        values = {"status": "active", "size": stored.size, "checksum": stored.checksum,
                  "os_hash_algo": CONF.hashing_algorithm,
                  "os_hash_value": stored.os_hash_value,
                  "virtual_size": virtual_size or image.get("virtual_size"),
                  "disk_format": image.get("disk_format"),
                  "container_format": image.get("container_format")}
        self.db.image_activate_with_location(context, image["id"], values, stored.url,
                                             stored.metadata, expected_status="importing")
        notifier.uploaded(context, lambda: self.db.image_get(context, image["id"]))
        return True

    def _finish_verifying(self, verified, stored: image_store.StoredData, context) -> None:
        """The signature check of a store that stopped reading at the size; a
        mismatch removes what that store wrote."""
        if not isinstance(verified, signatures.VerifyingStream):
            return
        try:
            verified.finish()
        except exception.SignatureVerificationFailed:
            self._delete_written([stored], context)
            raise

    def _delete_written(self, written: list[image_store.StoredData], context) -> None:
        for stored in written:
            self.store.delete({"url": stored.url, "metadata": stored.metadata},
                              context=context)

    def _set_properties(self, context, image_id: str, properties: dict[str, str],
                        unlock: str | None = None) -> None:
        try:
            image = self.db.image_get(context, image_id)
            self.db.image_update(context, image_id, {}, properties=_unlocked(
                {**image.get("properties", {}), **properties}, unlock))
        except exception.GlanceException as err:
            LOG.info("Import properties of image %s not updated: %s", image_id, err)

    # -- legacy import task -------------------------------------------------------------

    @staticmethod
    def check_legacy_input(task_input: Any) -> dict[str, Any]:
        """The input of a tasks-API ``import``, checked (400 when malformed, or when
        ``import_from`` does not pass the URL filter)."""
        task_input = task_domain.validate_import_input(task_input)
        web_download.check(task_input["import_from"], "task import")
        return task_input

    def run_legacy_import(self, task: task_domain.Task) -> None:
        """A tasks-API ``import``: create the image, fetch ``import_from``, activate."""
        context = background.task_context(task)
        task_input = task.input
        try:
            properties = dict(task_input["image_properties"])
            schema.validate(schema.image_schema(), properties)
            image = self.images.create(context, properties)
        except exception.GlanceException as err:
            self.tasks.fail(task.id, str(err), expected_status="processing")
            return
        self.tasks.set_image(task.id, image.id)
        try:
            image_domain.check_formats(image)
        except exception.FormatsRequired as err:
            self.tasks.fail(task.id, str(err), expected_status="processing",
                            result={"image_id": image.id})
            return
        self.db.image_update(context, image.id, {"status": "importing"},
                             expected_status="queued")
        path = staged_path(image.id)
        try:
            web_download.fetch_to_file(task_input["import_from"], path,
                                       self._limit(context, image.id), "task import")
            prepared = import_plugins.convert_legacy(
                self.db.image_get(context, image.id), path)
            self._store_all(context, image.id, path, [self.discovery.default_store()], [],
                            True, activate=True, prepared=prepared)
        except Exception as err:  # noqa: BLE001 - the task records why
            self._set_back(context, image.id, "importing", None)
            self.tasks.fail(task.id, str(err) or type(err).__name__,
                            expected_status="processing", result={"image_id": image.id})
            return
        finally:
            _remove(path)
        self.tasks.succeed(task.id, {"image_id": image.id})

    # -- recovery -----------------------------------------------------------------------

    def clean_up_interrupted(self, record: dict[str, Any]) -> None:
        """After an interrupted import: image back to queued, staged data removed."""
        image_id = record.get("image_id")
        if not image_id or record.get("type") not in ("api_image_import", "import"):
            return
        context = background.task_context(task_domain.Task.from_record(record))
        _remove(staged_path(image_id))
        for suffix in import_plugins.WORK_SUFFIXES:  # a plugin's file, if it was cut off
            _remove(staged_path(image_id) + suffix)
        self._set_back(context, image_id, "importing",
                       {IMPORTING: "", FAILED: ""} if record["type"] == "api_image_import"
                       else None)
