"""Image repository: the SQL behind every image use case.

Functions take a RequestContext (for visibility) and return plain dicts; they
never raise HTTP errors, only glance.exception domain errors.
"""

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from glance import exception
from glance import store as image_store
from glance.db import queries
from glance.db.sqlalchemy import engine, paging, upload_api, visibility
from glance.db.sqlalchemy.member_api import (  # noqa: F401 - re-exported for callers
    image_member_create,
    image_member_delete,
    image_member_find,
    image_member_find_covering,
    image_member_get,
    image_member_update,
)
from glance.db.sqlalchemy.models import (
    Image,
    ImageLocation,
    ImageMember,
    ImageProperty,
    ImageTag,
    PurgedImageId,
)

IMAGE_COLUMNS = tuple(c.name for c in Image.__table__.columns)
SORT_KEYS = queries.IMAGE_SORT_KEYS
Filter = queries.Filter
ImageQuery = queries.ImageQuery

_writer = engine.writer_session
_reader = engine.reader_session

_retry_on_deadlock = engine.retry_on_deadlock


# -- row <-> dict ------------------------------------------------------------------------

def _children_statement(ids_match) -> sa.Select:
    """Properties, tags and locations of the images whose id ``ids_match`` (a
    function of an ``image_id`` column), as one UNION ALL ordered by row id."""
    null = sa.null()
    union = sa.union_all(
        sa.select(ImageProperty.image_id, sa.literal("p").label("kind"), ImageProperty.id,
                  ImageProperty.name, ImageProperty.value, null.label("meta"),
                  null.label("status"))
        .where(ids_match(ImageProperty.image_id), ImageProperty.deleted.is_(False)),
        sa.select(ImageTag.image_id, sa.literal("t"), ImageTag.id, ImageTag.value, null,
                  null, null)
        .where(ids_match(ImageTag.image_id), ImageTag.deleted.is_(False)),
        sa.select(ImageLocation.image_id, sa.literal("l"), ImageLocation.id, null,
                  ImageLocation.value, ImageLocation.meta_data, ImageLocation.status)
        .where(ids_match(ImageLocation.image_id), ImageLocation.deleted.is_(False),
               ImageLocation.status != "deleted"),
    )
    return sa.select(union.subquery()).order_by("id")


# Built once: constructing a statement and its cache key costs more than running it
# (about 0.4 ms for this union), so the hot paths execute prebuilt ones with parameters.
_CHILDREN_OF_ONE = _children_statement(lambda column: column == sa.bindparam("image_id"))
_CHILDREN_OF_MANY = _children_statement(
    lambda column: column.in_(sa.bindparam("image_ids", expanding=True)))


def _load_children(session, image_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Properties, tags and locations of several images, in one round trip.

    ``session`` is an ORM session or a Core connection.
    """
    children: dict[str, dict[str, Any]] = {
        image_id: {"properties": {}, "tags": [], "locations": []} for image_id in image_ids}
    if not image_ids:
        return children
    if len(image_ids) == 1:
        rows = session.execute(_CHILDREN_OF_ONE, {"image_id": image_ids[0]}).all()
    else:
        rows = session.execute(_CHILDREN_OF_MANY, {"image_ids": image_ids}).all()
    for image_id, kind, row_id, name, value, meta, status in rows:
        child = children[image_id]
        if kind == "p":
            child["properties"][name] = value
        elif kind == "t":
            child["tags"].append(name)
        else:
            child["locations"].append({
                "id": row_id, "url": value, "status": status,
                "metadata": jsonutils.loads(meta) if meta else {}})
    for child in children.values():  # every reader sees the heaviest store first
        child["locations"] = image_store.by_weight(child["locations"])
    return children


def _image_dicts(session, rows: Iterable) -> list[dict[str, Any]]:
    images = [dict(row._mapping) for row in rows]
    children = _load_children(session, [image["id"] for image in images])
    for image in images:
        image.update(children[image["id"]])
    return images


# -- queries -----------------------------------------------------------------------------

IMAGE_TABLE = Image.__table__


def _get_row(session, context, image_id: str, lock: bool = False) -> Image:
    """The ORM row (for writes) of a visible, live image (whether the caller may
    change it is the services' check: ``glance.services.access.check_mutable``);
    ``lock``: read with ``FOR UPDATE`` (the latest committed version, held until
    the transaction ends)."""
    query = sa.select(Image).where(Image.id == image_id, Image.deleted.is_(False),
                                   visibility.can_see(context))
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    return row


def _change_row(session, context, image_id: str, values: dict[str, Any],
                expected_status: str | None) -> Image:
    """Load a visible image for writing, check its status (compare-and-set), apply
    ``values`` and stamp ``updated_at``; Conflict when the status is not the expected.

    With ``expected_status`` the row is read ``FOR UPDATE``: two transactions taking
    an image from the same status (two uploads of one image on two processes or
    nodes) then run one after the other, and the second sees the first's status.
    On Galera the lock holds on one node only; the two commits then meet at
    certification and the loser's deadlock error is retried (``_retry_on_deadlock``),
    which finds the new status."""
    row = _get_row(session, context, image_id, lock=expected_status is not None)
    if expected_status is not None and row.status != expected_status:
        raise exception.InvalidImageStatusTransition(
            current=row.status, target=values.get("status", row.status))
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = timeutils.utcnow()
    return row


def _orm_image_dict(session, row: Image) -> dict[str, Any]:
    image = {name: getattr(row, name) for name in IMAGE_COLUMNS}
    image.update(_load_children(session, [row.id])[row.id])
    return image


def _image_by_id(visible) -> sa.Select:
    return sa.select(IMAGE_TABLE).where(
        Image.id == sa.bindparam("image_id"), Image.deleted.is_(False), visible)


# One prebuilt statement per kind of caller (see visibility.can_see): admin, a project, no project.
_IMAGE_FOR_ADMIN = _image_by_id(sa.true())
_IMAGE_FOR_ANONYMOUS = _image_by_id(visibility.PUBLIC_OR_COMMUNITY)
_IMAGE_FOR_PROJECT = _image_by_id(visibility.project_can_see(sa.bindparam("owner")))


def image_get(context, image_id: str) -> dict[str, Any]:
    """The image with its properties, tags and locations, if the caller may see it."""
    params = {"image_id": image_id}
    if context.is_admin:
        statement = _IMAGE_FOR_ADMIN
    elif context.owner is None:
        statement = _IMAGE_FOR_ANONYMOUS
    elif visibility.lineage(context) is not None:
        statement = _image_by_id(visibility.can_see(context))
    else:
        statement, params["owner"] = _IMAGE_FOR_PROJECT, context.owner
    with engine.reader_connection() as connection:
        row = connection.execute(statement, params).first()
        if row is None:
            raise exception.ImageNotFound(image_id=image_id)
        image = dict(row._mapping)
        image.update(_load_children(connection, [image_id])[image_id])
        return image


_OPS = {
    "eq": lambda col, v: col == v,
    "neq": lambda col, v: col != v,
    "gt": lambda col, v: col > v,
    "gte": lambda col, v: col >= v,
    "lt": lambda col, v: col < v,
    "lte": lambda col, v: col <= v,
    "in": lambda col, v: col.in_(v),
}


def _property_condition(name: str, values: list[str]) -> sa.ColumnElement:
    return sa.and_(ImageProperty.name == name,
                   ImageProperty.value.in_(values) if len(values) > 1
                   else ImageProperty.value == values[0])


def _property_value(name: str, values: list[str]) -> sa.ColumnElement:
    """The image's live value of property ``name`` is one of ``values``.

    A correlated scalar subquery (at most one row: properties are unique per image
    and name), not an EXISTS: PostgreSQL turns an EXISTS into a join driven by
    every row of the property (``ix_image_properties_name``: a tenth of the table
    for a property every image has) and sorts the matches, which grows with the
    number of images; this form keeps the plan a walk of the images in page order
    that looks each one's property up by (image_id, name): its cost depends on how
    selective the filter is, not on how many images there are. (There is no index
    on the value: property values are TEXT, of any length.)
    """
    value = (sa.select(ImageProperty.value)
             .where(ImageProperty.image_id == Image.id, ImageProperty.name == name,
                    ImageProperty.deleted.is_(False))
             .scalar_subquery())
    return value.in_(values) if len(values) > 1 else value == values[0]


def _filter_conditions(query: ImageQuery) -> list[sa.ColumnElement]:
    """The WHERE conditions of a list's filters.

    One tag is an EXISTS, one property a correlated value lookup
    (``_property_value``). Several are ONE correlated count per kind
    (the image has as many of the asked tags / matching properties as were asked
    for), not one EXISTS each: PostgreSQL plans every EXISTS as a semi-join, and
    its planning time grows steeply with their number (1.4 s for 100, 15 s for
    200), and SQLite nests ANDed conditions into an expression tree at most 1000
    deep. (On MariaDB's case-insensitive collation, asking for "a" and "A" at
    once counts them twice and matches nothing.)
    """
    conditions = []
    for flt in query.filters:
        column = getattr(Image, flt.column)
        conditions.append(_OPS[flt.op](column, flt.value))
    properties = [_property_condition(name, values)
                  for name, values in query.properties.items()]
    if len(properties) == 1:
        ((name, values),) = query.properties.items()
        conditions.append(_property_value(name, values))
    elif properties:
        matched = (sa.select(sa.func.count(sa.distinct(ImageProperty.name)))
                   .where(ImageProperty.image_id == Image.id,
                          ImageProperty.deleted.is_(False), sa.or_(*properties))
                   .scalar_subquery())
        conditions.append(matched == len(properties))
    tags = list(dict.fromkeys(query.tags))
    if len(tags) == 1:
        conditions.append(sa.exists().where(
            ImageTag.image_id == Image.id, ImageTag.value == tags[0],
            ImageTag.deleted.is_(False)))
    elif tags:
        matched = (sa.select(sa.func.count(sa.distinct(ImageTag.value)))
                   .where(ImageTag.image_id == Image.id, ImageTag.value.in_(tags),
                          ImageTag.deleted.is_(False))
                   .scalar_subquery())
        conditions.append(matched == len(tags))
    return conditions


_NO_JIT = sa.text("SET LOCAL jit = off")


def image_get_all(context, query: ImageQuery) -> list[dict[str, Any]]:
    """One page of the images the caller may list, in the asked order."""
    with _reader() as session:
        if session.bind.dialect.name == "postgresql":
            # A page query never repays JIT compilation (tens of ms), which PostgreSQL
            # starts on cost estimates alone: a filter walked page by page
            # (_property_value) is estimated as a fraction of a scan of every image.
            session.execute(_NO_JIT)
        conditions = [Image.deleted.is_(False)]
        conditions += visibility.listing_conditions(context, query.visibility,
                                                    query.member_status)
        conditions += _filter_conditions(query)
        marker_row = None
        if query.marker is not None:
            marker_row = session.execute(
                sa.select(Image).where(Image.id == query.marker, Image.deleted.is_(False),
                                       visibility.can_see(context))).scalar_one_or_none()
            if marker_row is None:
                raise exception.MarkerNotFound(marker=query.marker)
        orm_query = paging.paginate(session.query(Image).filter(*conditions), Image,
                                    query.limit, query.sort, marker_row)
        return _image_dicts(session, orm_query.with_entities(*IMAGE_TABLE.columns).all())


def image_id_taken(image_id: str) -> bool:
    """Whether an id was ever used: by any image row, deleted or purged (OSSN-0075)."""
    with _reader() as session:
        found = session.execute(sa.select(Image.id).where(Image.id == image_id)).first()
        if found is None:  # rows removed by `glance-manage db purge_images_table`
            found = session.execute(
                sa.select(PurgedImageId.id).where(PurgedImageId.id == image_id)).first()
        return found is not None


# -- writes ------------------------------------------------------------------------------

def _set_properties(session, image_id: str, properties: dict[str, str | None]) -> None:
    """Write the full set of additional properties (insert, update, delete)."""
    existing = {row.name: row for row in session.execute(
        sa.select(ImageProperty).where(ImageProperty.image_id == image_id)).scalars()}
    for name, row in existing.items():
        if name not in properties:
            session.delete(row)
        elif row.value != properties[name] or row.deleted:
            row.value = properties[name]
            row.deleted = False
            row.deleted_at = None
    for name, value in properties.items():
        if name not in existing:
            session.add(ImageProperty(image_id=image_id, name=name, value=value))


def _set_tags(session, image_id: str, tags: Iterable[str]) -> None:
    """Write the full set of tags. Rows OpenStack Glance soft-deleted (it does so when
    a tag is removed, and adds a new row when it comes back) are removed too."""
    wanted = list(dict.fromkeys(tags))
    kept: set[str] = set()
    for row in session.execute(sa.select(ImageTag).where(ImageTag.image_id == image_id)
                               .order_by(ImageTag.deleted, ImageTag.id)).scalars():
        if row.deleted or row.value not in wanted or row.value in kept:
            session.delete(row)
        else:
            kept.add(row.value)
    session.flush()  # deletes first: the unique (image_id, value) key
    for value in wanted:
        if value not in kept:
            session.add(ImageTag(image_id=image_id, value=value))


@_retry_on_deadlock
def image_create(values: dict[str, Any], properties: dict[str, str],
                 tags: Iterable[str]) -> dict[str, Any]:
    """Insert an image with its properties and tags in one transaction."""
    try:
        with _writer() as session:
            if session.execute(sa.select(Image.id).where(Image.id == values["id"])).first():
                raise exception.ImageIdExists(image_id=values["id"])
            now = timeutils.utcnow()
            row = Image(created_at=now, updated_at=now, **values)
            session.add(row)
            session.flush()
            for name, value in properties.items():
                session.add(ImageProperty(image_id=row.id, name=name, value=value,
                                          created_at=now))
            for value in dict.fromkeys(tags):
                session.add(ImageTag(image_id=row.id, value=value, created_at=now))
            session.flush()
            return _orm_image_dict(session, row)
    except db_exc.DBDuplicateEntry as err:
        raise exception.ImageIdExists(image_id=values["id"]) from err


@_retry_on_deadlock
def image_update(context, image_id: str, values: dict[str, Any],
                 properties: dict[str, str | None] | None = None,
                 tags: Iterable[str] | None = None,
                 expected_status: str | None = None,
                 upload_host: str | None = None) -> dict[str, Any]:
    """Change base columns, and optionally replace properties and tags, atomically.

    ``expected_status`` makes the write conditional on the image's current status
    (a compare-and-set for state transitions); a mismatch raises Conflict.
    ``upload_host`` records, in the same transaction, the node that starts writing
    the image's data (glance/db/sqlalchemy/upload_api.py).
    """
    with _writer() as session:
        row = _change_row(session, context, image_id, values, expected_status)
        if properties is not None:
            _set_properties(session, image_id, properties)
        if upload_host:
            upload_api.mark_in(session, image_id, upload_host)
        if tags is not None:
            _set_tags(session, image_id, tags)
        session.flush()
        return _orm_image_dict(session, row)


@_retry_on_deadlock
def image_destroy(context, image_id: str) -> dict[str, Any]:
    """Soft-delete an image and its children; the images row stays (id never reused)."""
    with _writer() as session:
        row = _get_row(session, context, image_id)
        now = timeutils.utcnow()
        image = _orm_image_dict(session, row)
        row.deleted, row.deleted_at, row.status, row.updated_at = True, now, "deleted", now
        for model in (ImageProperty, ImageTag, ImageLocation, ImageMember):
            session.execute(
                sa.update(model).where(model.image_id == image_id, model.deleted.is_(False))
                .values(deleted=True, deleted_at=now))
        return image


@_retry_on_deadlock
def image_tag_add(context, image_id: str, tag: str, quota: int) -> None:
    """Add one tag (idempotent); refuse going over ``quota`` tags (negative: no limit)."""
    with _writer() as session:
        _get_row(session, context, image_id)
        existing = list(session.execute(
            sa.select(ImageTag.value).where(ImageTag.image_id == image_id,
                                            ImageTag.deleted.is_(False))).scalars())
        if tag in existing:
            return
        if 0 <= quota < len(existing) + 1:
            raise exception.LimitExceeded(what="image tags", attempted=len(existing) + 1,
                                          maximum=quota)
        # A row OpenStack Glance soft-deleted would break the unique (image_id, value).
        session.execute(sa.delete(ImageTag).where(
            ImageTag.image_id == image_id, ImageTag.value == tag, ImageTag.deleted.is_(True)))
        session.add(ImageTag(image_id=image_id, value=tag))
        session.execute(sa.update(Image).where(Image.id == image_id)
                        .values(updated_at=timeutils.utcnow()))


@_retry_on_deadlock
def image_tag_delete(context, image_id: str, tag: str) -> None:
    """Remove one tag; NotFound when the image does not carry it."""
    with _writer() as session:
        _get_row(session, context, image_id)
        result = session.execute(sa.delete(ImageTag).where(
            ImageTag.image_id == image_id, ImageTag.value == tag, ImageTag.deleted.is_(False)))
        if result.rowcount == 0:
            raise exception.TagNotFound(tag=tag, image_id=image_id)
        session.execute(sa.update(Image).where(Image.id == image_id)
                        .values(updated_at=timeutils.utcnow()))


# -- locations / data (image data issue) -------------------------------------------------

@_retry_on_deadlock
def image_activate_with_location(context, image_id: str, values: dict[str, Any],
                                 url: str, metadata: dict[str, Any],
                                 expected_status: str = "saving") -> None:
    """Set the data columns and add an active location in one transaction.

    The write only happens while the image is still ``expected_status`` (and not
    deleted); otherwise Conflict (or ImageNotFound) and nothing changes.
    """
    with _writer() as session:
        row = _change_row(session, context, image_id, values, expected_status)
        now = row.updated_at
        session.add(ImageLocation(image_id=image_id, value=url,
                                  meta_data=jsonutils.dumps(metadata), status="active",
                                  created_at=now))
        session.flush()


@_retry_on_deadlock
def image_update_with_locations(context, image_id: str, values: dict[str, Any],
                                locations: list[dict[str, Any]], expected_status: str,
                                properties: dict[str, str | None] | None = None,
                                tags: Iterable[str] | None = None,
                                removed_status: str = "deleted",
                                released_ids: Iterable[int] = ()) -> dict[str, Any]:
    """Change an image and set its full list of active locations, atomically.

    ``locations`` holds ``{"url", "metadata"}`` dicts, with the ``id`` of the row
    for the ones kept; active rows not listed get ``removed_status``, except
    ``released_ids`` (rows whose URL lives on in a new row: a reordering), which are
    just deleted. The write only happens while the image is ``expected_status``
    (Conflict otherwise).
    """
    with _writer() as session:
        row = _change_row(session, context, image_id, values, expected_status)
        now = row.updated_at
        if properties is not None:
            _set_properties(session, image_id, properties)
        if tags is not None:
            _set_tags(session, image_id, tags)
        existing = {loc.id: loc for loc in session.execute(
            sa.select(ImageLocation).where(ImageLocation.image_id == image_id,
                                           ImageLocation.deleted.is_(False),
                                           ImageLocation.status == "active")).scalars()}
        kept = {loc["id"] for loc in locations if loc.get("id") in existing}
        released = set(released_ids)
        for loc_id, loc in existing.items():
            if loc_id not in kept:
                loc.status = "deleted" if loc_id in released else removed_status
                if loc.status == "deleted":
                    loc.deleted, loc.deleted_at = True, now
        for wanted in locations:
            if wanted.get("id") in existing:
                existing[wanted["id"]].location_metadata = wanted["metadata"]
            else:
                session.add(ImageLocation(image_id=image_id, value=wanted["url"],
                                          location_metadata=wanted["metadata"],
                                          status="active", created_at=now))
        session.flush()
        return _orm_image_dict(session, row)


def location_url_in_use(url: str, exclude_image_id: str | None = None) -> bool:
    """Whether a live location row of another image points at ``url``."""
    with _reader() as session:
        query = sa.select(ImageLocation.id).where(
            ImageLocation.value == url, ImageLocation.deleted.is_(False),
            ImageLocation.status != "deleted")
        if exclude_image_id is not None:
            query = query.where(ImageLocation.image_id != exclude_image_id)
        return session.execute(query.limit(1)).first() is not None


@_retry_on_deadlock
def image_mark_pending_delete(image_id: str) -> None:
    """After a soft delete with delayed_delete: image and locations ``pending_delete``."""
    with _writer() as session:
        session.execute(sa.update(Image).where(Image.id == image_id)
                        .values(status="pending_delete"))
        session.execute(sa.update(ImageLocation).where(ImageLocation.image_id == image_id,
                                                       ImageLocation.status == "active")
                        .values(status="pending_delete"))


@_retry_on_deadlock
def image_locations_mark_deleted(image_id: str) -> None:
    """Record that the data behind an image's locations was removed."""
    with _writer() as session:
        session.execute(sa.update(ImageLocation).where(ImageLocation.image_id == image_id)
                        .values(status="deleted", deleted=True,
                                deleted_at=timeutils.utcnow()))


def owner_storage_usage(owner: str | None, exclude_image_id: str | None = None) -> int:
    """Bytes of image data an owner stores: size x active locations of live images."""
    with _reader() as session:
        copies = (sa.select(sa.func.count(ImageLocation.id))
                  .where(ImageLocation.image_id == Image.id,
                         ImageLocation.deleted.is_(False),
                         ImageLocation.status == "active")
                  .scalar_subquery())
        query = sa.select(sa.func.coalesce(sa.func.sum(Image.size * copies), 0)).where(
            Image.owner == owner, Image.deleted.is_(False), Image.size.is_not(None))
        if exclude_image_id is not None:
            query = query.where(Image.id != exclude_image_id)
        return int(session.execute(query).scalar_one())
