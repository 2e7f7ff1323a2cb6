"""Disk image format inspection on the upload stream.

``inspect_stream(chunks, disk_format, container_format)`` returns an
:class:`InspectedStream`: iterate it instead of ``chunks`` and every chunk is
shown to oslo.utils' format inspectors on the way to the store, so the data is
read once. The verdict is given at the latest when the stream ends, before the
iterator finishes, so a refused image makes the store write fail (and the
caller removes the partial data and puts the image back to ``queued``):

* the content must be the declared ``disk_format`` (``[image_format]
  require_image_format_match``, on by default); formats the inspectors do not
  know (ami, ari, aki, ploop) must not look like any format they do know;
* whatever the declaration, content in two formats at once (a qcow2 header in
  an ISO, ...) and content that fails a safety check (qcow2 backing or data
  file, a vmdk descriptor naming other files, old or unknown qcow2 features,
  qed/luks) is refused; the GPT checks ``[image_format]
  gpt_safety_checks_nonfatal`` names (``mbr``, ``gptmbr``) only warn, as in
  Glance (and ``mbr`` always only warns for aki/ari kernels and ramdisks).

``check_vmdk_create_type`` applies ``[image_format] vmdk_allowed_types`` (the
vmdk subformats image conversion may read, as in Glance).

A mismatch is detected as soon as the headers are read, so a large bad image
is refused after its first megabytes. ``virtual_size`` is the inspected disk
size once the stream has ended.
"""

from collections.abc import Iterable, Iterator

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils.imageutils import format_inspector as fi

from glance import exception

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

# Container formats whose data is an archive, not a disk: nothing to inspect.
ARCHIVE_CONTAINERS = frozenset({"ova", "docker", "compressed"})
# Declared formats the inspectors cannot recognise; the content must look raw.
OPAQUE_FORMATS = frozenset({"ami", "ari", "aki", "ploop"})
# Detected formats acceptable for a declared one, besides itself.
_ALSO_ACCEPTED = {
    "raw": {"gpt"},     # a whole-disk image with a partition table
    "ami": {"gpt"},
    "iso": {"gpt"},     # hybrid bootable ISOs carry a GPT as well
}
# Combinations of detected formats that are one legitimate image, not a disguise.
_COMPATIBLE_SETS = ({"iso", "gpt"},)


def _check_vmdk_extents(inspector: fi.FileInspector) -> None:
    """A single-file vmdk has exactly one extent, its own SPARSE data.

    oslo.utils refuses extent names with a ``/``; a FLAT/VMFS/ZERO extent or a
    second extent naming a file beside the image is refused here.
    """
    text = getattr(inspector, "desc_text", "") or ""
    extents = [line.split() for line in (raw.strip() for raw in text.splitlines())
               if line.split(" ")[0].upper() in ("RW", "RDONLY", "NOACCESS")]
    if len(extents) != 1 or len(extents[0]) < 3 or extents[0][2].upper() != "SPARSE":
        raise exception.InvalidImageFormat(
            reason="vmdk descriptor must name exactly one SPARSE extent in the image "
            "itself")


def vmdk_create_type(inspector: fi.FileInspector) -> str | None:
    """The ``createType`` of a vmdk's descriptor (None when it names none)."""
    found = getattr(inspector, "vmdktype", None)
    return None if found in (None, "formatnotfound") else found


def check_vmdk_create_type(create_type: str | None) -> None:
    """Refuse a vmdk whose ``createType`` is not in ``vmdk_allowed_types`` (compared
    without case; an empty list refuses every vmdk), as Glance's image conversion."""
    allowed = CONF.image_format.vmdk_allowed_types
    if not create_type:
        raise exception.InvalidImageFormat(reason="unable to determine VMDK create-type")
    if not allowed:
        raise exception.InvalidImageFormat(
            reason="image is a VMDK, but [image_format] vmdk_allowed_types is empty")
    if create_type.lower() not in {name.lower() for name in allowed}:
        raise exception.InvalidImageFormat(
            reason=f"vmdk create-type {create_type} is not one of [image_format] "
            f"vmdk_allowed_types ({', '.join(allowed)})")


def _fatal_failures(inspector: fi.FileInspector, failures: Iterable[str],
                    disk_format: str | None) -> set[str]:
    """The safety-check failures that refuse the data: for a GPT disk, all but those
    ``gpt_safety_checks_nonfatal`` names (and ``mbr`` of an aki/ari image)."""
    fatal = set(failures)
    if str(inspector) != "gpt":
        return fatal
    fatal -= set(CONF.image_format.gpt_safety_checks_nonfatal)
    if disk_format in ("aki", "ari"):
        fatal.discard("mbr")
    return fatal


def _names(inspectors: Iterable[fi.FileInspector]) -> set[str]:
    return {str(inspector) for inspector in inspectors}


class InspectedStream:
    """The chunks of an upload, inspected on the way through."""

    def __init__(self, chunks: Iterable[bytes], disk_format: str | None,
                 container_format: str | None = None,
                 require_match: bool | None = None) -> None:
        self._chunks = chunks
        self.disk_format = disk_format
        self.enabled = container_format not in ARCHIVE_CONTAINERS
        self.require_match = (CONF.image_format.require_image_format_match
                              if require_match is None else require_match)
        self._wrapper = fi.InspectWrapper(iter(chunks)) if self.enabled else None
        self._matched = False
        self.detected: list[fi.FileInspector] | None = None

    def __iter__(self) -> Iterator[bytes]:
        if self._wrapper is None:
            yield from self._chunks
            return
        wrapper = self._wrapper
        while True:
            try:
                chunk = next(wrapper)
            except StopIteration:
                break
            if not self._matched and wrapper.formats is not None:
                self._check_match(wrapper.formats)
            yield chunk
        self._verdict()

    # -- checks ---------------------------------------------------------------------

    def _check_match(self, formats: list[fi.FileInspector]) -> None:
        """Refuse disguises and mismatches once the headers have been read."""
        self._matched = True
        names = _names(formats)
        if len(names) > 1 and names not in _COMPATIBLE_SETS:
            raise exception.InvalidImageFormat(
                reason=f"the data is in several formats at once ({', '.join(sorted(names))})")
        declared = self.disk_format
        if not self.require_match or not declared:
            return
        if declared in OPAQUE_FORMATS:
            if names - {"raw", "gpt"}:
                raise exception.InvalidImageFormat(
                    reason=f"disk_format is {declared} but the data is {', '.join(names)}")
            return
        accepted = {declared} | _ALSO_ACCEPTED.get(declared, set())
        if not names <= accepted or (declared != "raw" and declared not in names):
            raise exception.InvalidImageFormat(
                reason=f"disk_format is {declared} but the data is "
                f"{', '.join(sorted(names))}")

    def _verdict(self) -> None:
        """At the end of the stream: the match, then every safety check."""
        wrapper = self._wrapper
        assert wrapper is not None
        wrapper.close()  # marks the end of the stream for end-of-file regions
        try:
            formats = wrapper.formats or []
        except fi.ImageFormatError as err:
            raise exception.InvalidImageFormat(reason=str(err)) from err
        if not self._matched:
            self._check_match(formats)
        for inspector in formats:
            try:
                inspector.safety_check()
            except fi.SafetyCheckFailed as err:
                reasons = "; ".join(f"{name}: {failure}"
                                    for name, failure in err.failures.items())
                if not _fatal_failures(inspector, err.failures, self.disk_format):
                    LOG.warning("Accepted %s image data failing non-fatal safety "
                                "checks: %s", inspector, reasons)
                    continue
                LOG.warning("Refused %s image data: %s", inspector, reasons)
                raise exception.InvalidImageFormat(
                    reason=f"{inspector} safety check failed ({reasons})") from err
            except fi.ImageFormatError as err:
                raise exception.InvalidImageFormat(reason=f"{inspector}: {err}") from err
            if str(inspector) == "vmdk":
                _check_vmdk_extents(inspector)
        self.detected = formats

    # -- results --------------------------------------------------------------------

    @property
    def format_name(self) -> str | None:
        """The detected format once the stream has been accepted."""
        if not self.detected:
            return None
        names = _names(self.detected) - {"gpt"} or {"gpt"}
        return sorted(names)[0]

    def virtual_size(self, size: int) -> int | None:
        """The disk's size from the inspected header (``size`` for raw data)."""
        if not self.detected:
            return size if self.disk_format in ("raw", "iso") else None
        inspector = next((i for i in self.detected if str(i) == self.format_name),
                         self.detected[0])
        if str(inspector) in ("raw", "gpt"):
            return size
        try:
            value = inspector.virtual_size
        except Exception as err:  # noqa: BLE001 - a header we could not size
            LOG.info("No virtual size for %s data: %s", inspector, err)
            return None
        return value or None


def inspect_stream(chunks: Iterable[bytes], disk_format: str | None,
                   container_format: str | None = None) -> InspectedStream:
    """Wrap an upload's chunks so they are inspected as they are stored."""
    return InspectedStream(chunks, disk_format, container_format)
