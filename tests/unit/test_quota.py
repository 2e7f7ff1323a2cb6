"""Quota sizes and the upload limit."""

import pytest

from glance import exception, quota


@pytest.mark.parametrize("value, expected", [("0", 0), ("30B", 30), ("2KB", 2048),
                                             ("1 GB", 1024 ** 3), ("5M", 5 * 1024 ** 2)])
def test_parse_size(value, expected):
    assert quota.parse_size(value) == expected


def test_parse_size_rejects_garbage():
    with pytest.raises(ValueError):
        quota.parse_size("lots")


def test_upload_limit_prefers_quota_error():
    limit = quota.UploadLimit(cap=100, quota_remaining=30)
    with pytest.raises(exception.StorageQuotaFull):
        limit.check(200)
    with pytest.raises(exception.ImageSizeLimitExceeded):
        quota.UploadLimit(cap=10, quota_remaining=None).check(11)
    assert limit.maximum == 30


def _chunks(*parts: bytes, then: BaseException | None = None):
    yield from parts
    if then is not None:
        raise then


def test_limited_stream_counts_what_passes():
    stream = quota.LimitedStream(_chunks(b"ab", b"cde"), quota.UploadLimit(10, None))
    assert b"".join(stream) == b"abcde"
    assert stream.received == 5


def test_limited_stream_stops_past_the_limit():
    stream = quota.LimitedStream(_chunks(b"abc", b"def", b"never"),
                                 quota.UploadLimit(cap=100, quota_remaining=4))
    seen = []
    with pytest.raises(exception.StorageQuotaFull):
        for chunk in stream:
            seen.append(chunk)
    assert seen == [b"abc"]
    with pytest.raises(exception.ImageSizeLimitExceeded):
        list(quota.LimitedStream(_chunks(b"abcdef"), quota.UploadLimit(5, None)))


def test_limited_stream_reads_a_server_error_as_a_client_that_went_away():
    with pytest.raises(exception.ClientDisconnected):
        list(quota.LimitedStream(_chunks(b"a", then=OSError("reset")),
                                 quota.UploadLimit(10, None)))
    with pytest.raises(exception.ImageSizeLimitExceeded):  # glance's own pass through
        list(quota.LimitedStream(_chunks(b"a", then=exception.ImageSizeLimitExceeded()),
                                 quota.UploadLimit(10, None)))


def test_a_project_budget_stops_the_stream_with_its_own_error():
    def over(size: int) -> exception.GlanceException:
        return exception.ProjectOverLimit(body=f"over by {size}")
    limit = quota.UploadLimit(cap=100, quota_remaining=None,
                              budgets=[quota.ProjectBudget(remaining=5, error=over)])
    assert limit.maximum == 5
    stream = quota.LimitedStream(iter([b"abc", b"def"]), limit)
    with pytest.raises(exception.ProjectOverLimit, match="over by 6") as err:
        list(stream)
    assert err.value.code == 413
    limit.budgets.append(quota.ProjectBudget(remaining=-3, error=over))
    assert limit.maximum == 0


def test_user_storage_quota_is_not_applied_under_keystone_limits(app, override):
    override("user_storage_quota", "30B")
    assert quota.storage_quota() == 30
    override("use_keystone_limits", True)
    assert quota.storage_quota() == 0
