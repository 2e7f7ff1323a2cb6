"""What a project uses, as the Keystone limits count it (glance.db.sqlalchemy.usage_api),
on images driven through the in-process API."""

import uuid

from glance.db.sqlalchemy import usage_api
from tests import helpers

OCTET = {"Content-Type": "application/octet-stream"}


def test_usage_follows_the_images_of_one_project(app):
    project = uuid.uuid4().hex
    headers = helpers.identity("member,reader", project=project)

    def create() -> str:
        return app.post_json("/v2/images", {"disk_format": "raw", "container_format": "bare"},
                             headers=headers).json["id"]
    assert (usage_api.image_count(project), usage_api.uploading_count(project)) == (0, 0)
    stored, staged, empty = create(), create(), create()
    app.put(f"/v2/images/{stored}/file", b"s" * 3000, headers={**headers, **OCTET})
    app.put(f"/v2/images/{staged}/stage", b"t" * 2000, headers={**headers, **OCTET})
    assert usage_api.image_count(project) == 3
    assert usage_api.storage_bytes(project) == 3000
    assert usage_api.staging_bytes(project) == 2000  # the staged image is 'uploading'
    assert usage_api.uploading_count(project) == 1
    app.delete(f"/v2/images/{empty}", headers=headers)
    app.delete(f"/v2/images/{staged}", headers=headers)
    assert usage_api.image_count(project) == 1
    assert (usage_api.staging_bytes(project), usage_api.uploading_count(project)) == (0, 0)
    assert usage_api.image_count(uuid.uuid4().hex) == 0
