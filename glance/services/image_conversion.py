"""Disk image conversion with ``qemu-img`` and ``qemu-nbd``.

* :func:`describe` asks ``qemu-img info`` (format forced, CPU and memory
  limited) about a staged file and refuses what Glance refuses: another format
  than the declared one, a backing file, an external data file, a vmdk
  ``create-type`` outside ``[image_format] vmdk_allowed_types``;
* :func:`raw_chunks` streams the **raw** view of a qcow2, vmdk, vhd, vhdx or vdi
  file without writing it anywhere: ``qemu-nbd`` serves the file read-only on a
  private Unix socket and a small NBD client reads it in order. ``qemu-img
  convert`` cannot write to a pipe (it resizes and seeks its target), so this
  is how the data reaches the store while it is converted;
* :func:`convert_file` runs ``qemu-img convert`` into a file, for the outputs
  that need random access (qcow2, vmdk).
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_log import log as logging

from glance import exception, format_inspection

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
CHUNK = 4 * 1024 * 1024
GIB = 1024 * 1024 * 1024
# disk_format -> the name qemu gives the same format
QEMU_NAMES = {"vhd": "vpc"}
# Limits of ``qemu-img info`` on untrusted data (as Glance sets them).
INFO_LIMITS = processutils.ProcessLimits(cpu_time=30, address_space=GIB)

_NBD_HELLO = b"NBDMAGICIHAVEOPT"
_NBD_FLAG_NO_ZEROES = 2
_NBD_OPT_EXPORT_NAME = 1
_NBD_REQUEST = 0x25609513
_NBD_REPLY = 0x67446698
_NBD_READ, _NBD_DISCONNECT = 0, 2
_EXPORT = b"image"


def qemu_name(disk_format: str) -> str:
    return QEMU_NAMES.get(disk_format, disk_format)


@dataclass(frozen=True)
class SourceInfo:
    """What ``qemu-img info`` says of a file."""

    format: str
    virtual_size: int


def _failed(reason: str) -> exception.ImportFailed:
    return exception.ImportFailed(reason=reason)


def describe(path: str, disk_format: str) -> SourceInfo:
    """``qemu-img info`` of ``path`` read as ``disk_format``, with Glance's refusals."""
    fmt = qemu_name(disk_format)
    try:
        out, err = processutils.execute(
            "qemu-img", "info", "-f", fmt, "--output=json", path,
            prlimit=INFO_LIMITS, env_variables={"LC_ALL": "C"})
    except processutils.ProcessExecutionError as err:
        raise _failed(f"qemu-img cannot read the image as {disk_format}: "
                      f"{_first_line(err.stderr)}") from err
    except OSError as err:
        raise _failed(f"qemu-img could not be run: {err}") from err
    try:
        info = json.loads(out)
    except ValueError as err:
        raise _failed("qemu-img info gave no readable answer") from err
    if info.get("format") != fmt:
        raise _failed(f"qemu-img reads the image as {info.get('format', 'unknown')}, "
                      f"not {disk_format}")
    if "backing-filename" in info:
        raise _failed("images with a backing file are not allowed")
    specific = (info.get("format-specific") or {}).get("data") or {}
    if specific.get("data-file") is not None:
        raise _failed("qcow2 images with an external data file are not allowed")
    if fmt == "vmdk":
        try:
            format_inspection.check_vmdk_create_type(specific.get("create-type"))
        except exception.InvalidImageFormat as err:
            raise _failed(str(err)) from err
    size = info.get("virtual-size")
    if not isinstance(size, int) or size < 0:
        raise _failed("qemu-img found no virtual size")
    return SourceInfo(format=fmt, virtual_size=size)


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given"


def convert_file(path: str, disk_format: str, output_format: str, dest: str) -> None:
    """``qemu-img convert`` of ``path`` into a new file ``dest``."""
    command = ["qemu-img", "convert", "-f", qemu_name(disk_format),
               "-O", qemu_name(output_format), path, dest]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                env={**os.environ, "LC_ALL": "C"})
    except OSError as err:
        raise _failed(f"qemu-img could not be run: {err}") from err
    if result.returncode != 0:
        _unlink(dest)
        raise _failed(f"qemu-img convert failed: {_first_line(result.stderr)}")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class _NbdReader:
    """A read-only NBD client of one export (fixed newstyle, simple replies)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._handle = 0

    def _read(self, size: int) -> bytearray:
        buf = bytearray(size)
        view = memoryview(buf)
        got = 0
        while got < size:
            n = self.sock.recv_into(view[got:])
            if not n:
                raise _failed("qemu-nbd closed the connection")
            got += n
        return buf

    def handshake(self) -> int:
        """Negotiate the export; returns its size."""
        hello = self._read(18)
        if bytes(hello[:16]) != _NBD_HELLO:
            raise _failed("qemu-nbd did not answer as an NBD server")
        (flags,) = struct.unpack(">H", hello[16:])
        client_flags = 1 | (flags & _NBD_FLAG_NO_ZEROES)
        self.sock.sendall(struct.pack(">I", client_flags))
        self.sock.sendall(b"IHAVEOPT" + struct.pack(">II", _NBD_OPT_EXPORT_NAME,
                                                    len(_EXPORT)) + _EXPORT)
        size, _flags = struct.unpack(">QH", self._read(10))
        if not flags & _NBD_FLAG_NO_ZEROES:
            self._read(124)
        return size

    def read(self, offset: int, length: int) -> bytes:
        self._handle += 1
        self.sock.sendall(struct.pack(">IHHQQI", _NBD_REQUEST, 0, _NBD_READ,
                                      self._handle, offset, length))
        magic, error, handle = struct.unpack(">IIQ", self._read(16))
        if magic != _NBD_REPLY or handle != self._handle:
            raise _failed("qemu-nbd sent a malformed reply")
        if error:
            raise _failed(f"qemu-nbd could not read the image (error {error})")
        return bytes(self._read(length))

    def disconnect(self) -> None:
        try:
            self.sock.sendall(struct.pack(">IHHQQI", _NBD_REQUEST, 0, _NBD_DISCONNECT,
                                          0, 0, 0))
        except OSError:
            pass


def _connect(path: str, server: subprocess.Popen, timeout: float = 30.0
             ) -> socket.socket:
    """Connect to qemu-nbd's socket once it listens."""
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            stderr = server.stderr.read() if server.stderr else ""
            raise _failed(f"qemu-nbd failed: {_first_line(stderr)}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise _failed("qemu-nbd did not start listening") from None
            time.sleep(0.01)


def raw_chunks(path: str, disk_format: str, expected_size: int,
               chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The raw disk inside ``path`` (read as ``disk_format``), in order, in chunks.

    Raises ImportFailed (from inside the iteration) when qemu-nbd fails or the
    disk is not ``expected_size`` bytes, so a store write of it fails too."""
    workdir = tempfile.mkdtemp(prefix="glance-nbd-")
    sock_path = os.path.join(workdir, "nbd.sock")
    command = ["qemu-nbd", "--read-only", "--format", qemu_name(disk_format),
               "--socket", sock_path, "--export-name", _EXPORT.decode(),
               "--shared", "1", path]
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "LC_ALL": "C"})
    try:
        with _connect(sock_path, server) as sock:
            reader = _NbdReader(sock)
            size = reader.handshake()
            if size != expected_size:
                raise _failed(f"the converted disk has {size} bytes, qemu-img info "
                              f"said {expected_size}")
            offset = 0
            while offset < size:
                length = min(chunk_size, size - offset)
                yield reader.read(offset, length)
                offset += length
            reader.disconnect()
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        if code not in (0, None):
            stderr = server.stderr.read() if server.stderr else ""
            raise _failed(f"qemu-nbd failed: {_first_line(stderr)}")
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.stderr:
            server.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)
