"""glance.store's reader over upload chunks (what glance_store drivers read from)."""

import time

from glance.store import _ChunkReader


def test_reads_across_chunk_boundaries():
    reader = _ChunkReader([b"abc", b"defgh", b"i"])
    assert [reader.read(2), reader.read(4), reader.read(10), reader.read(1)] == [
        b"ab", b"cdef", b"ghi", b""]


def test_an_empty_chunk_is_not_the_end():
    reader = _ChunkReader([b"ab", b"", b"", b"cd", b""])
    assert reader.read(1) == b"a"
    assert reader.read(2) == b"bc"  # the empty chunks in between are skipped
    assert reader.read(5) == b"d"
    assert reader.read(5) == b""


def test_read_all():
    reader = _ChunkReader([b"ab", b"cd", b"ef"])
    assert reader.read(1) == b"a"
    assert reader.read() == b"bcdef"


def test_small_reads_of_a_large_chunk_are_linear():
    # 32 MiB in 4 KiB reads: re-copying the rest of the chunk per read (the old
    # reader) moves ~128 GiB; slicing a memoryview moves 32 MiB.
    data = bytes(32 * 1024 * 1024)
    reader = _ChunkReader([data])
    started = time.monotonic()
    total = 0
    while piece := reader.read(4096):
        total += len(piece)
    assert total == len(data)
    assert time.monotonic() - started < 5
