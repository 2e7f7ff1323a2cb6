"""What a project uses, as the Keystone unified limits count it.

Each function answers one limit's question for one owner (a project), with
Glance's definitions: stored bytes (``image_size_total``), staged bytes
(``image_stage_total``), live images (``image_count_total``) and images in an
upload (``image_count_uploading``).
"""

import sqlalchemy as sa

from glance.db.sqlalchemy import engine
from glance.db.sqlalchemy.api import owner_storage_usage
from glance.db.sqlalchemy.models import Image, ImageProperty

_reader = engine.reader_session
GONE = ("killed", "deleted", "pending_delete")
STAGING = ("uploading", "importing")
UPLOADING = ("saving", "uploading", "importing")
IMPORTING_TO = "os_glance_importing_to_stores"


def storage_bytes(owner: str) -> int:
    """Bytes the owner's images hold in the stores (size x active locations)."""
    return owner_storage_usage(owner)


def _copying(owner: str, excluded: tuple[str, ...]) -> sa.Select:
    """The owner's images being copied to more stores (``os_glance_importing_to_stores``
    not empty), their status not in ``excluded``."""
    copying = (sa.select(ImageProperty.image_id)
               .where(ImageProperty.name == IMPORTING_TO, ImageProperty.value != "",
                      ImageProperty.deleted.is_(False)))
    return sa.select(Image).where(Image.owner == owner, Image.deleted.is_(False),
                                  Image.id.in_(copying), Image.status.not_in(excluded))


def staging_bytes(owner: str) -> int:
    """Bytes the owner's images take in the staging area: those uploading or
    importing, and those being copied."""
    with _reader() as session:
        staged = session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(Image.size), 0))
            .where(Image.owner == owner, Image.deleted.is_(False), Image.size > 0,
                   Image.status.in_(STAGING))).scalar_one()
        copies = _copying(owner, STAGING + GONE).where(Image.size > 0).subquery()
        copied = session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(copies.c.size), 0))).scalar_one()
        return int(staged) + int(copied)


def image_count(owner: str) -> int:
    """The owner's images that are not killed, deleted or pending delete."""
    with _reader() as session:
        return int(session.execute(
            sa.select(sa.func.count(Image.id))
            .where(Image.owner == owner, Image.deleted.is_(False),
                   Image.status.not_in(GONE))).scalar_one())


def uploading_count(owner: str) -> int:
    """The owner's images in an upload (saving, uploading, importing) or being copied."""
    with _reader() as session:
        uploading = session.execute(
            sa.select(sa.func.count(Image.id))
            .where(Image.owner == owner, Image.deleted.is_(False),
                   Image.status.in_(UPLOADING))).scalar_one()
        copies = _copying(owner, UPLOADING + GONE).subquery()
        copying = session.execute(sa.select(sa.func.count()).select_from(copies)
                                  ).scalar_one()
        return int(uploading) + int(copying)
