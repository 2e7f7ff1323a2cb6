"""Which API node is writing an image's data: the hidden property
``os_glance_upload_host`` (that node's ``worker_self_reference_url``), set while
the image is ``saving``, so that another node can reset the upload of a node that
died (glance/services/peer_recovery.py).

A reset is a transaction that locks the image row (``SELECT ... FOR UPDATE``; on
SQLite the writer's ``BEGIN IMMEDIATE``) while it is still ``saving`` for that
host, removes the partial data, then puts the image back to ``queued``: a new
upload of the image, which needs ``queued``, cannot start before the data is gone,
and two nodes never reset the same upload.
"""

from collections.abc import Callable

import sqlalchemy as sa
from oslo_utils import timeutils

from glance.db.sqlalchemy import engine
from glance.db.sqlalchemy.models import Image, ImageProperty

UPLOAD_HOST = "os_glance_upload_host"


def _host_row(image_id: str):
    return sa.select(ImageProperty).where(ImageProperty.image_id == image_id,
                                          ImageProperty.name == UPLOAD_HOST)


def mark_in(session, image_id: str, host: str) -> None:
    """Record ``host`` as the node uploading ``image_id``, in the caller's transaction
    (the one that makes the image ``saving``: a node that dies between two
    transactions would leave a ``saving`` image nobody knows the uploader of)."""
    row = session.execute(_host_row(image_id)).scalar()
    if row is None:
        session.add(ImageProperty(image_id=image_id, name=UPLOAD_HOST, value=host))
    else:
        row.value, row.deleted, row.deleted_at = host, False, None


@engine.retry_on_deadlock
def unmark(image_id: str, host: str) -> None:
    """Forget that ``host`` uploads ``image_id`` (its upload ended)."""
    with engine.writer_session() as session:
        session.execute(sa.delete(ImageProperty).where(
            ImageProperty.image_id == image_id, ImageProperty.name == UPLOAD_HOST,
            ImageProperty.value == host))


def uploads_elsewhere(host: str | None, image_id: str | None = None
                      ) -> list[tuple[str, str]]:
    """(image id, uploading host) of the ``saving`` images another node uploads."""
    query = (sa.select(Image.id, ImageProperty.value)
             .join(ImageProperty, ImageProperty.image_id == Image.id)
             .where(Image.status == "saving", Image.deleted.is_(False),
                    ImageProperty.name == UPLOAD_HOST, ImageProperty.deleted.is_(False)))
    if host is not None:
        query = query.where(ImageProperty.value != host)
    if image_id is not None:
        query = query.where(Image.id == image_id)
    with engine.reader_session() as session:
        return [(row[0], row[1]) for row in session.execute(query)]


@engine.retry_on_deadlock
def reset(image_id: str, host: str, remove_data: Callable[[], None]) -> bool:
    """Put ``image_id`` back to ``queued`` if ``host`` still uploads it (``saving``),
    calling ``remove_data`` under the row lock first; True if it was reset."""
    with engine.writer_session() as session:
        image = session.execute(
            sa.select(Image).where(Image.id == image_id, Image.status == "saving",
                                   Image.deleted.is_(False)).with_for_update()).scalar()
        marker = session.execute(_host_row(image_id)).scalar()
        if image is None or marker is None or marker.value != host or marker.deleted:
            return False
        remove_data()
        image.status, image.updated_at = "queued", timeutils.utcnow()
        session.delete(marker)
    return True
