"""Rows of the metadefs tables: to plain dicts, the visibility filter, lookups by
name, and flushing with a domain error for a duplicate name. The helpers of
``glance.db.sqlalchemy.metadef_api``, which holds the transactions.
"""

from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc
from oslo_serialization import jsonutils
from sqlalchemy.orm import Session

from glance import exception
from glance.db.sqlalchemy import paging
from glance.db.sqlalchemy.models import (
    MetadefNamespace,
    MetadefNamespaceResourceType,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)

NAMESPACE_FIELDS = ("namespace", "display_name", "description", "visibility", "protected",
                    "owner")


# -- row -> dict -------------------------------------------------------------------------

def stamps(row) -> dict[str, Any]:
    return {"created_at": row.created_at, "updated_at": row.updated_at}


def namespace_dict(row: MetadefNamespace) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in NAMESPACE_FIELDS}
    # OpenStack Glance's schema lets these be NULL (its load_metadefs leaves visibility
    # unset for files that do not name one) and shows Glance's defaults for them.
    if values["visibility"] is None:
        values["visibility"] = "private"
    if values["protected"] is None:
        values["protected"] = False
    values["id"] = row.id
    values.update(stamps(row))
    return values


def object_dict(row: MetadefObject) -> dict[str, Any]:
    return {"name": row.name, "description": row.description,
            "required": jsonutils.loads(row.required) if row.required else [],
            "properties": jsonutils.loads(row.json_schema) if row.json_schema else {},
            **stamps(row)}


def property_dict(row: MetadefProperty) -> dict[str, Any]:
    return {"name": row.name, "schema": jsonutils.loads(row.json_schema), **stamps(row)}


def tag_dict(row: MetadefTag) -> dict[str, Any]:
    return {"name": row.name, **stamps(row)}


def association_dict(assoc: MetadefNamespaceResourceType, name: str) -> dict[str, Any]:
    return {"name": name, "prefix": assoc.prefix,
            "properties_target": assoc.properties_target, **stamps(assoc)}


# -- visibility and lookups --------------------------------------------------------------

def visible(context) -> sa.ColumnElement:
    if context is None or context.is_admin:
        return sa.true()
    clauses = [MetadefNamespace.visibility == "public"]
    if context.owner is not None:
        clauses.append(MetadefNamespace.owner == context.owner)
    return sa.or_(*clauses)


def namespace_row(session: Session, context, name: str) -> MetadefNamespace:
    row = session.execute(
        sa.select(MetadefNamespace).where(MetadefNamespace.namespace == name,
                                          visible(context))).scalar_one_or_none()
    if row is None:
        raise exception.MetadefNamespaceNotFound(namespace=name)
    return row


def child_row(session: Session, model, namespace: MetadefNamespace, name: str,
              not_found: type[exception.NotFound]):
    row = session.execute(sa.select(model).where(
        model.namespace_id == namespace.id, model.name == name)).scalar_one_or_none()
    if row is None:
        raise not_found(name=name, namespace=namespace.namespace)
    return row


def resource_type_row(session: Session, name: str) -> MetadefResourceType:
    row = session.execute(sa.select(MetadefResourceType).where(
        MetadefResourceType.name == name)).scalar_one_or_none()
    if row is None:
        raise exception.MetadefResourceTypeNotFound(name=name)
    return row


def paginate(session: Session, query, model, *, limit: int | None, marker_row,
             sort_key: str, sort_dir: str):
    return paging.paginate(query, model, limit, [(sort_key, sort_dir)], marker_row)


def flush(session: Session, duplicate: exception.GlanceException) -> None:
    """Flush; a duplicate key becomes ``duplicate``."""
    try:
        session.flush()
    except db_exc.DBDuplicateEntry as err:
        raise duplicate from err
