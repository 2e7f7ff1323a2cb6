"""Glance's image import plugins, run in ``[image_import_opts]
image_import_plugins`` order on staged data before it is stored.

* ``no_op``: nothing;
* ``inject_image_metadata``: ``[inject_metadata_properties] inject`` properties
  (``os_glance_*`` keys dropped), unless the importing user has one of
  ``ignore_user_roles``;
* ``image_decompression``: a gzip, zip (one member) or, with the ``lhafile``
  package, lha archive is replaced by its content, unless the image's
  container format is ``compressed``;
* ``image_conversion``: the data is converted to ``[image_conversion]
  output_format`` with qemu-img after Glance's checks (content in the declared
  format, no backing or data file, allowed vmdk type); an ``iso`` stays as it is.
  When the output is raw and no later plugin rewrites the data, nothing is
  written to disk: the store reads the raw disk from ``qemu-nbd`` as it writes.

:func:`prepare` returns a :class:`Prepared`: where the data comes from, and the
image values the plugins changed. Failures raise ImportFailed.
"""

import gzip
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from glance import exception, format_inspection, quota
from glance.services import image_conversion

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
CHUNK = 1024 * 1024
RESERVED = "os_glance"
CONVERSION, DECOMPRESSION = "image_conversion", "image_decompression"
DATA_PLUGINS = frozenset({CONVERSION, DECOMPRESSION})
# Files a plugin writes beside the staged data before it replaces it.
WORK_SUFFIXES = (".uc", ".raw", ".qcow2", ".vmdk")
MAGIC = ((0, b"PK\x03\x04", "zip"), (2, b"-lh", "lha"), (0, b"\x1f\x8b\x08", "gzip"))


def file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@dataclass
class Prepared:
    """The data to store and the image values the plugins set."""

    path: str
    values: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    stream: Callable[[], Iterable[bytes]] | None = None  # instead of reading ``path``
    size: int | None = None  # of the data to store

    def chunks(self) -> Iterable[bytes]:
        return self.stream() if self.stream else file_chunks(self.path)

    def data_size(self) -> int:
        return self.size if self.size is not None else os.path.getsize(self.path)


def enabled() -> list[str]:
    return list(CONF.image_import_opts.image_import_plugins)


def prepare(image: dict[str, Any], path: str, roles: list[str],
            limit: quota.UploadLimit) -> Prepared:
    """Run the enabled plugins on the staged file ``path`` of ``image``."""
    plugins = enabled()
    prepared = Prepared(path=path)
    data_steps = [name for name in plugins if name in DATA_PLUGINS]
    for name in plugins:
        current = {**image, **prepared.values}
        if name == "inject_image_metadata":
            prepared.properties.update(_injected(roles))
        elif name == DECOMPRESSION:
            _decompress(current, path, limit)
        elif name == CONVERSION:
            last = data_steps and data_steps[-1] == CONVERSION and \
                data_steps.count(CONVERSION) == 1
            _convert(current, prepared, CONF.image_conversion.output_format,
                     stream_ok=bool(last))
    return prepared


def convert_legacy(image: dict[str, Any], path: str) -> Prepared:
    """A legacy ``import`` task's data converted to ``[taskflow_executor]
    conversion_format`` (as it is when that is not set)."""
    prepared = Prepared(path=path)
    target = CONF.taskflow_executor.conversion_format
    if target:
        _convert(image, prepared, target, stream_ok=True)
    return prepared


# -- inject_image_metadata ------------------------------------------------------------

def _injected(roles: list[str]) -> dict[str, str]:
    group = CONF.inject_metadata_properties
    if set(roles) & set(group.ignore_user_roles):
        return {}
    props = {}
    for key, value in (group.inject or {}).items():
        if key.startswith(RESERVED):
            LOG.warning("Not injecting %s: os_glance_* properties are reserved", key)
            continue
        props[key] = value
    return props


# -- image_decompression ----------------------------------------------------------------

def _kind(path: str) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(8)
    for offset, magic, kind in MAGIC:
        if head.startswith(magic, offset):
            return kind
    return None


def _limited_copy(source, dest: str, limit: quota.UploadLimit) -> None:
    """Copy ``source`` into ``dest``, stopped with the 413 past the upload limit
    (an archive that expands beyond what the owner may store)."""
    maximum, written = limit.maximum, 0
    with open(dest, "wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > maximum:
                limit.check(written)
            out.write(chunk)


def _decompress(image: dict[str, Any], path: str, limit: quota.UploadLimit) -> None:
    if image.get("container_format") == "compressed":
        return
    kind = _kind(path)
    if kind is None:
        return
    dest = path + ".uc"
    try:
        if kind == "gzip":
            with gzip.open(path, "rb") as source:
                _limited_copy(source, dest, limit)
        elif kind == "zip":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if len(names) != 1:
                    raise exception.ImportFailed(
                        reason="the zip archive must hold exactly one file")
                with archive.open(names[0]) as source:
                    _limited_copy(source, dest, limit)
        else:
            _unlha(path, dest, limit)
        os.replace(dest, path)
    except exception.GlanceException:
        _remove(dest)
        raise
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as err:
        _remove(dest)
        raise exception.ImportFailed(reason=f"the {kind} data cannot be decompressed: "
                                     f"{err}") from err
    LOG.info("Image %s decompressed (%s) to %d bytes", image.get("id"), kind,
             os.path.getsize(path))


def _unlha(path: str, dest: str, limit: quota.UploadLimit) -> None:
    try:
        import lhafile  # noqa: PLC0415 - optional, as in Glance
    except ImportError:
        raise exception.ImportFailed(reason="lha archives need the lhafile package") \
            from None
    archive = lhafile.LhaFile(path, "r")
    names = archive.namelist()
    if len(names) != 1:
        raise exception.ImportFailed(reason="the lha archive must hold exactly one file")
    data = archive.read(names[0])
    limit.check(len(data))
    with open(dest, "wb") as out:
        out.write(data)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# -- image_conversion --------------------------------------------------------------------

def _detected(path: str, disk_format: str, container_format: str | None) -> str:
    """The staged data's format, after the safety checks ('gpt' counts as raw)."""
    inspected = format_inspection.InspectedStream(file_chunks(path), disk_format,
                                                  container_format, require_match=False)
    try:
        for _chunk in inspected:
            pass
    except exception.InvalidImageFormat as err:
        raise exception.ImportFailed(reason=str(err)) from err
    name = inspected.format_name or "raw"
    return "raw" if name == "gpt" else name


def _convert(image: dict[str, Any], prepared: Prepared, target: str,
             stream_ok: bool) -> None:
    source = image.get("disk_format") or ""
    path = prepared.path
    detected = _detected(path, source, image.get("container_format"))
    if detected == "iso":
        if source == "iso":
            return  # Glance keeps ISO images as they are
        raise exception.ImportFailed(reason=f"disk_format is {source} but the data is an "
                                     "ISO image")
    if detected != source:
        raise exception.ImportFailed(reason=f"disk_format is {source} but the data is "
                                     f"{detected}")
    info = image_conversion.describe(path, source)
    prepared.values["virtual_size"] = info.virtual_size
    if source == target:
        return
    prepared.values.update(disk_format=target, container_format="bare")
    if target == "raw" and stream_ok:
        size = info.virtual_size
        prepared.size = size
        prepared.stream = lambda: image_conversion.raw_chunks(path, source, size)
        return
    dest = f"{path}.{target}"
    image_conversion.convert_file(path, source, target, dest)
    os.replace(dest, path)
    prepared.size = None
    prepared.stream = None
    LOG.info("Image %s converted from %s to %s", image.get("id"), source, target)

