"""glance/s3_store.py's pure parts: part sizes, block reading, error translation.

The data path itself runs against a real radosgw in tests/s3.
"""

import pytest
from botocore.exceptions import ClientError

from glance import exception, s3_store

MiB = s3_store.MiB


def test_part_size_is_the_chunk_size_when_the_parts_fit():
    assert s3_store.part_size(10 * MiB, 1000 * MiB, 1) == 10 * MiB
    assert s3_store.part_size(10 * MiB, 10 * MiB * 10000, 9999) == 10 * MiB


def test_part_size_grows_for_10000_parts_at_most():
    size = 200 * 1024 * MiB  # 200 GiB: 20,480 parts of 10 MiB would be too many
    part = s3_store.part_size(10 * MiB, size, 1)
    assert part % MiB == 0 and part * s3_store.MAX_PARTS >= size
    assert part == 21 * MiB


def test_part_size_without_a_size_doubles_every_1000_parts():
    sizes = [s3_store.part_size(5 * MiB, None, n) for n in (1, 1000, 1001, 2001, 10000)]
    assert sizes == [5 * MiB, 5 * MiB, 10 * MiB, 20 * MiB, 5 * MiB * 2 ** 9]
    total = sum(s3_store.part_size(5 * MiB, None, n) for n in range(1, 10001))
    assert total > 4 * 1024 * 1024 * MiB  # more than 4 TiB in 10,000 parts, none over 5 GiB


@pytest.mark.parametrize("chunks", [
    [b"abcdefghij"], [b"abc", b"defg", b"hij"], [bytes([c]) for c in b"abcdefghij"],
    [b"", b"abcde", b"", b"fghij", b""],
])
def test_blocks_cut_any_chunking_into_blocks(chunks):
    blocks = s3_store._Blocks(chunks)
    got = []
    while not blocks.done:
        got.append(blocks.read(4))
    assert got == [b"abcd", b"efgh", b"ij"]


def test_blocks_know_the_end_when_a_block_ends_the_data():
    blocks = s3_store._Blocks([b"abcd", b"efgh"])
    assert blocks.read(4) == b"abcd" and not blocks.done
    assert blocks.read(4) == b"efgh" and blocks.done


def test_blocks_of_nothing():
    blocks = s3_store._Blocks(iter([]))
    assert blocks.read(4) == b"" and blocks.done


def test_blocks_let_the_source_error_through():
    def failing():
        yield b"abc"
        raise OSError("client gone")
    blocks = s3_store._Blocks(failing())
    with pytest.raises(OSError, match="client gone"):
        blocks.read(10)


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "PutObject")


@pytest.mark.parametrize("code,kind,status", [
    ("AccessDenied", exception.StorageWriteDenied, 503),
    ("SignatureDoesNotMatch", exception.StorageWriteDenied, 503),
    ("QuotaExceeded", exception.StorageFull, 413),
    ("InternalError", exception.StoreFailure, 503),
])
def test_s3_errors_become_glance_errors(code, kind, status):
    err = s3_store._translate(_error(code), "write k")
    assert type(err) is kind and err.code == status
    assert code in str(err)


def test_missing_objects_are_recognized():
    assert s3_store._is_missing(_error("NoSuchKey"))
    assert s3_store._is_missing(_error("404"))
    assert not s3_store._is_missing(_error("AccessDenied"))
