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
