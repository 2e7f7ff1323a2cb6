"""Metadata definitions repository: the SQL behind the metadefs catalog.

Functions return plain dicts and raise only glance.exception domain errors.
Visibility is filtered in SQL: administrators see every namespace, everyone
else the public ones and those their project owns. Each public function runs
in its own transaction; ``import_namespace`` writes one whole namespace (with
its children) in a single transaction, for the definitions loader.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from oslo_serialization import jsonutils
from oslo_utils import timeutils
from sqlalchemy.orm import Session

from glance import exception
from glance.db import queries
from glance.db.sqlalchemy import engine, metadef_rows
from glance.db.sqlalchemy.metadef_rows import NAMESPACE_FIELDS  # noqa: F401 - re-exported
from glance.db.sqlalchemy.models import (
    MetadefNamespace,
    MetadefNamespaceResourceType,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)

NAMESPACE_SORT_KEYS = queries.NAMESPACE_SORT_KEYS
CHILD_SORT_KEYS = queries.CHILD_SORT_KEYS

_writer = engine.writer_session
_reader = engine.reader_session


# -- namespaces --------------------------------------------------------------------------

def _associations(session: Session, namespace_ids: Sequence[int]
                  ) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {ns_id: [] for ns_id in namespace_ids}
    if not namespace_ids:
        return found
    rows = session.execute(
        sa.select(MetadefNamespaceResourceType, MetadefResourceType.name)
        .join(MetadefResourceType,
              MetadefResourceType.id == MetadefNamespaceResourceType.resource_type_id)
        .where(MetadefNamespaceResourceType.namespace_id.in_(namespace_ids))
        .order_by(MetadefNamespaceResourceType.created_at,
                  MetadefNamespaceResourceType.resource_type_id))
    for assoc, name in rows:
        found[assoc.namespace_id].append(metadef_rows.association_dict(assoc, name))
    return found


def namespace_list(context, *, limit: int | None, marker: str | None = None,
                   sort_key: str = "created_at", sort_dir: str = "desc",
                   visibility: str | None = None,
                   resource_types: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One page of visible namespaces, each with its resource type associations."""
    with _reader() as session:
        conditions = [metadef_rows.visible(context)]
        if visibility:
            conditions.append(MetadefNamespace.visibility == visibility)
        resource_types = list(resource_types)
        if resource_types:
            conditions.append(MetadefNamespace.id.in_(
                sa.select(MetadefNamespaceResourceType.namespace_id)
                .join(MetadefResourceType, MetadefResourceType.id
                      == MetadefNamespaceResourceType.resource_type_id)
                .where(MetadefResourceType.name.in_(resource_types))))
        marker_row = metadef_rows.namespace_row(session, context, marker) if marker else None
        query = session.query(MetadefNamespace).filter(*conditions)
        rows = metadef_rows.paginate(session, query, MetadefNamespace, limit=limit,
                                     marker_row=marker_row, sort_key=sort_key,
                                     sort_dir=sort_dir).all()
        namespaces = [metadef_rows.namespace_dict(row) for row in rows]
        assocs = _associations(session, [ns["id"] for ns in namespaces])
        for ns in namespaces:
            ns["resource_type_associations"] = assocs[ns["id"]]
        return namespaces


def _namespace_detail(session: Session, row: MetadefNamespace) -> dict[str, Any]:
    detail = metadef_rows.namespace_dict(row)
    detail["resource_type_associations"] = _associations(session, [row.id])[row.id]
    detail["properties"] = [metadef_rows.property_dict(r) for r in session.execute(
        sa.select(MetadefProperty).where(MetadefProperty.namespace_id == row.id)
        .order_by(MetadefProperty.id)).scalars()]
    detail["objects"] = [metadef_rows.object_dict(r) for r in session.execute(
        sa.select(MetadefObject).where(MetadefObject.namespace_id == row.id)
        .order_by(MetadefObject.id)).scalars()]
    detail["tags"] = [metadef_rows.tag_dict(r) for r in session.execute(
        sa.select(MetadefTag).where(MetadefTag.namespace_id == row.id)
        .order_by(MetadefTag.id)).scalars()]
    return detail


def namespace_get(context, name: str, *, detail: bool = False) -> dict[str, Any]:
    """A visible namespace; with ``detail`` also its properties, objects, tags and
    resource type associations."""
    with _reader() as session:
        row = metadef_rows.namespace_row(session, context, name)
        if detail:
            return _namespace_detail(session, row)
        namespace = metadef_rows.namespace_dict(row)
        namespace["resource_type_associations"] = _associations(session, [row.id])[row.id]
        return namespace


@engine.retry_on_deadlock
def namespace_create(values: dict[str, Any]) -> dict[str, Any]:
    """Insert a namespace row; Duplicate when the name is taken."""
    with _writer() as session:
        row = MetadefNamespace(**{k: values.get(k) for k in NAMESPACE_FIELDS})
        session.add(row)
        metadef_rows.flush(
            session, exception.MetadefDuplicateNamespace(namespace=values["namespace"]))
        return metadef_rows.namespace_dict(row)


@engine.retry_on_deadlock
def namespace_create_full(values: dict[str, Any], *, properties: dict[str, dict],
                          objects: Sequence[dict], tags: Sequence[str],
                          associations: Sequence[dict]) -> dict[str, Any]:
    """Create a namespace and its contents in one transaction (all or nothing)."""
    with _writer() as session:
        row = MetadefNamespace(**{k: values.get(k) for k in NAMESPACE_FIELDS})
        session.add(row)
        metadef_rows.flush(
            session, exception.MetadefDuplicateNamespace(namespace=values["namespace"]))
        _add_contents(session, row, properties, objects, tags, associations,
                      create_resource_types=True)
        return _namespace_detail(session, row)


@engine.retry_on_deadlock
def namespace_update(context, name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Replace a namespace's attributes (including a rename)."""
    with _writer() as session:
        row = metadef_rows.namespace_row(session, context, name)
        for key in NAMESPACE_FIELDS:
            if key in values:
                setattr(row, key, values[key])
        metadef_rows.flush(session, exception.MetadefDuplicateNamespace(namespace=values.get(
                        "namespace", name)))
        namespace = metadef_rows.namespace_dict(row)
        namespace["resource_type_associations"] = _associations(session, [row.id])[row.id]
        return namespace


def _delete_children(session: Session, namespace_id: int, models: Iterable) -> None:
    for model in models:
        session.execute(sa.delete(model).where(model.namespace_id == namespace_id))


_CHILD_MODELS = {"objects": MetadefObject, "properties": MetadefProperty,
                 "tags": MetadefTag, "associations": MetadefNamespaceResourceType}


@engine.retry_on_deadlock
def namespace_delete(context, name: str) -> None:
    """Delete a namespace and everything in it."""
    with _writer() as session:
        row = metadef_rows.namespace_row(session, context, name)
        _delete_children(session, row.id, _CHILD_MODELS.values())
        session.delete(row)


@engine.retry_on_deadlock
def namespace_delete_contents(context, name: str, kind: str) -> None:
    """Delete all ``objects``, ``properties`` or ``tags`` of a namespace."""
    with _writer() as session:
        row = metadef_rows.namespace_row(session, context, name)
        _delete_children(session, row.id, [_CHILD_MODELS[kind]])


# -- objects and properties --------------------------------------------------------------

def _children_page(context, namespace: str, model, not_found, to_dict, *,
                   limit: int | None, marker: str | None, sort_key: str,
                   sort_dir: str) -> list[dict[str, Any]]:
    """One page of a namespace's objects or tags (``model``), rendered by ``to_dict``."""
    with _reader() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        marker_row = (metadef_rows.child_row(session, model, ns, marker, not_found) if marker
                      else None)
        query = session.query(model).filter(model.namespace_id == ns.id)
        rows = metadef_rows.paginate(session, query, model, limit=limit, marker_row=marker_row,
                                     sort_key=sort_key, sort_dir=sort_dir).all()
        return [to_dict(row) for row in rows]


def _child_get(context, namespace: str, name: str, model, not_found, to_dict
               ) -> dict[str, Any]:
    """One object, property or tag of a namespace, by name."""
    with _reader() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        return to_dict(metadef_rows.child_row(session, model, ns, name, not_found))


def _object_values(values: dict[str, Any]) -> dict[str, Any]:
    return {"name": values["name"], "description": values.get("description"),
            "required": jsonutils.dumps(list(values.get("required") or [])),
            "json_schema": jsonutils.dumps(values.get("properties") or {})}


def object_list(context, namespace: str, *, limit: int | None = None,
                marker: str | None = None, sort_key: str = "created_at",
                sort_dir: str = "desc") -> list[dict[str, Any]]:
    return _children_page(context, namespace, MetadefObject,
                          exception.MetadefObjectNotFound, metadef_rows.object_dict, limit=limit,
                          marker=marker, sort_key=sort_key, sort_dir=sort_dir)


def object_get(context, namespace: str, name: str) -> dict[str, Any]:
    return _child_get(context, namespace, name, MetadefObject,
                      exception.MetadefObjectNotFound, metadef_rows.object_dict)


@engine.retry_on_deadlock
def object_create(context, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        row = MetadefObject(namespace_id=ns.id, **_object_values(values))
        session.add(row)
        metadef_rows.flush(session, exception.MetadefDuplicateObject(name=values["name"],
                                                                     namespace=namespace))
        return metadef_rows.object_dict(row)


@engine.retry_on_deadlock
def object_update(context, namespace: str, name: str,
                  values: dict[str, Any]) -> dict[str, Any]:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        row = metadef_rows.child_row(session, MetadefObject, ns, name,
                                     exception.MetadefObjectNotFound)
        for key, value in _object_values(values).items():
            setattr(row, key, value)
        metadef_rows.flush(session, exception.MetadefDuplicateObject(name=values["name"],
                                                                     namespace=namespace))
        return metadef_rows.object_dict(row)


@engine.retry_on_deadlock
def object_delete(context, namespace: str, name: str) -> None:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        session.delete(metadef_rows.child_row(session, MetadefObject, ns, name,
                                              exception.MetadefObjectNotFound))


def property_list(context, namespace: str) -> list[dict[str, Any]]:
    with _reader() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        return [metadef_rows.property_dict(r) for r in session.execute(
            sa.select(MetadefProperty).where(MetadefProperty.namespace_id == ns.id)
            .order_by(MetadefProperty.id)).scalars()]


def property_get(context, namespace: str, name: str) -> dict[str, Any]:
    return _child_get(context, namespace, name, MetadefProperty,
                      exception.MetadefPropertyNotFound, metadef_rows.property_dict)


@engine.retry_on_deadlock
def property_create(context, namespace: str, name: str, schema: dict) -> dict[str, Any]:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        row = MetadefProperty(namespace_id=ns.id, name=name,
                              json_schema=jsonutils.dumps(schema))
        session.add(row)
        metadef_rows.flush(session,
                           exception.MetadefDuplicateProperty(name=name, namespace=namespace))
        return metadef_rows.property_dict(row)


@engine.retry_on_deadlock
def property_update(context, namespace: str, name: str, new_name: str,
                    schema: dict) -> dict[str, Any]:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        row = metadef_rows.child_row(session, MetadefProperty, ns, name,
                                     exception.MetadefPropertyNotFound)
        row.name, row.json_schema = new_name, jsonutils.dumps(schema)
        metadef_rows.flush(session, exception.MetadefDuplicateProperty(name=new_name,
                                                                       namespace=namespace))
        return metadef_rows.property_dict(row)


@engine.retry_on_deadlock
def property_delete(context, namespace: str, name: str) -> None:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        session.delete(metadef_rows.child_row(session, MetadefProperty, ns, name,
                                              exception.MetadefPropertyNotFound))


# -- tags --------------------------------------------------------------------------------

def tag_list(context, namespace: str, *, limit: int | None = None,
             marker: str | None = None, sort_key: str = "created_at",
             sort_dir: str = "desc") -> list[dict[str, Any]]:
    return _children_page(context, namespace, MetadefTag, exception.MetadefTagNotFound,
                          metadef_rows.tag_dict, limit=limit, marker=marker, sort_key=sort_key,
                          sort_dir=sort_dir)


def tag_get(context, namespace: str, name: str) -> dict[str, Any]:
    return _child_get(context, namespace, name, MetadefTag, exception.MetadefTagNotFound,
                      metadef_rows.tag_dict)


@engine.retry_on_deadlock
def tag_create(context, namespace: str, name: str) -> dict[str, Any]:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        row = MetadefTag(namespace_id=ns.id, name=name)
        session.add(row)
        metadef_rows.flush(session, exception.MetadefDuplicateTag(name=name, namespace=namespace))
        return metadef_rows.tag_dict(row)


@engine.retry_on_deadlock
def tag_create_many(context, namespace: str, names: Sequence[str],
                    append: bool) -> list[dict[str, Any]]:
    """Create several tags at once; without ``append`` they replace the existing ones."""
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        if not append:
            _delete_children(session, ns.id, [MetadefTag])
            session.flush()
        existing = set(session.execute(sa.select(MetadefTag.name).where(
            MetadefTag.namespace_id == ns.id)).scalars())
        for name in names:
            if name in existing:
                raise exception.MetadefDuplicateTag(name=name, namespace=namespace)
            existing.add(name)
        rows = [MetadefTag(namespace_id=ns.id, name=name) for name in names]
        session.add_all(rows)
        metadef_rows.flush(session, exception.MetadefDuplicateTag(name=", ".join(names),
                                                                  namespace=namespace))
        return [metadef_rows.tag_dict(row) for row in rows]


@engine.retry_on_deadlock
def tag_update(context, namespace: str, name: str, new_name: str) -> dict[str, Any]:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        row = metadef_rows.child_row(session, MetadefTag, ns, name, exception.MetadefTagNotFound)
        row.name = new_name
        metadef_rows.flush(session,
                           exception.MetadefDuplicateTag(name=new_name, namespace=namespace))
        return metadef_rows.tag_dict(row)


@engine.retry_on_deadlock
def tag_delete(context, namespace: str, name: str) -> None:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        session.delete(metadef_rows.child_row(session, MetadefTag, ns, name,
                                              exception.MetadefTagNotFound))


# -- resource types and associations -----------------------------------------------------

def resource_type_list() -> list[dict[str, Any]]:
    """Every resource type (they are global, not owned)."""
    with _reader() as session:
        rows = session.execute(sa.select(MetadefResourceType)
                               .order_by(MetadefResourceType.id)).scalars()
        return [{"name": row.name, "protected": row.protected, **metadef_rows.stamps(row)}
                for row in rows]


def association_list(context, namespace: str) -> list[dict[str, Any]]:
    with _reader() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        return _associations(session, [ns.id])[ns.id]


def _associate(session: Session, ns: MetadefNamespace, values: dict[str, Any],
               create_resource_type: bool) -> dict[str, Any]:
    name = values["name"]
    try:
        resource_type = metadef_rows.resource_type_row(session, name)
    except exception.MetadefResourceTypeNotFound:
        if not create_resource_type:
            raise
        resource_type = MetadefResourceType(name=name, protected=False)
        session.add(resource_type)
        session.flush()
    assoc = MetadefNamespaceResourceType(
        namespace_id=ns.id, resource_type_id=resource_type.id,
        prefix=values.get("prefix"), properties_target=values.get("properties_target"))
    session.add(assoc)
    metadef_rows.flush(session, exception.MetadefDuplicateAssociation(resource_type=name,
                                                                      namespace=ns.namespace))
    return metadef_rows.association_dict(assoc, name)


@engine.retry_on_deadlock
def association_create(context, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    """Associate a namespace with a resource type, creating an unknown type on the way."""
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        return _associate(session, ns, values, create_resource_type=True)


@engine.retry_on_deadlock
def association_delete(context, namespace: str, resource_type: str) -> None:
    with _writer() as session:
        ns = metadef_rows.namespace_row(session, context, namespace)
        rt = metadef_rows.resource_type_row(session, resource_type)
        deleted = session.execute(sa.delete(MetadefNamespaceResourceType).where(
            MetadefNamespaceResourceType.namespace_id == ns.id,
            MetadefNamespaceResourceType.resource_type_id == rt.id)).rowcount
        if not deleted:
            raise exception.MetadefAssociationNotFound(resource_type=resource_type,
                                                       namespace=namespace)


# -- bulk operations for the definitions loader ------------------------------------------

def _add_contents(session: Session, ns: MetadefNamespace, properties: dict[str, dict],
                  objects: Sequence[dict], tags: Sequence[str],
                  associations: Sequence[dict], create_resource_types: bool) -> None:
    name = ns.namespace
    for assoc in associations:
        _associate(session, ns, assoc, create_resource_types)
    for prop_name, schema in properties.items():
        session.add(MetadefProperty(namespace_id=ns.id, name=prop_name,
                                    json_schema=jsonutils.dumps(schema)))
        metadef_rows.flush(session,
                           exception.MetadefDuplicateProperty(name=prop_name, namespace=name))
    for obj in objects:
        session.add(MetadefObject(namespace_id=ns.id, **_object_values(obj)))
        metadef_rows.flush(session,
                           exception.MetadefDuplicateObject(name=obj["name"], namespace=name))
    for tag in tags:
        session.add(MetadefTag(namespace_id=ns.id, name=tag))
        metadef_rows.flush(session, exception.MetadefDuplicateTag(name=tag, namespace=name))


def _merge_contents(session: Session, ns: MetadefNamespace, doc: dict[str, Any],
                    prefer_new: bool) -> None:
    """Add what the namespace lacks; with ``prefer_new`` also update what it has."""
    _merge_properties(session, ns, doc["properties"], prefer_new)
    _merge_objects(session, ns, doc["objects"], prefer_new)
    existing_tags = set(session.execute(sa.select(MetadefTag.name)
                                        .where(MetadefTag.namespace_id == ns.id)).scalars())
    for tag in doc["tags"]:
        if tag not in existing_tags:
            session.add(MetadefTag(namespace_id=ns.id, name=tag))
    _merge_associations(session, ns, doc["resource_type_associations"], prefer_new)
    session.flush()


def _merge_properties(session: Session, ns: MetadefNamespace,
                      properties: dict[str, Any], prefer_new: bool) -> None:
    existing_props = {row.name: row for row in session.execute(sa.select(MetadefProperty)
                      .where(MetadefProperty.namespace_id == ns.id)).scalars()}
    for prop_name, schema in properties.items():
        row = existing_props.get(prop_name)
        if row is None:
            session.add(MetadefProperty(namespace_id=ns.id, name=prop_name,
                                        json_schema=jsonutils.dumps(schema)))
        elif prefer_new:
            row.json_schema = jsonutils.dumps(schema)


def _merge_objects(session: Session, ns: MetadefNamespace, objects: list[dict[str, Any]],
                   prefer_new: bool) -> None:
    existing_objs = {row.name: row for row in session.execute(sa.select(MetadefObject)
                     .where(MetadefObject.namespace_id == ns.id)).scalars()}
    for obj in objects:
        row = existing_objs.get(obj["name"])
        if row is None:
            session.add(MetadefObject(namespace_id=ns.id, **_object_values(obj)))
        elif prefer_new:
            for key, value in _object_values(obj).items():
                setattr(row, key, value)


def _merge_associations(session: Session, ns: MetadefNamespace,
                        associations: list[dict[str, Any]], prefer_new: bool) -> None:
    existing_assocs = {a["name"]: a for a in _associations(session, [ns.id])[ns.id]}
    for assoc in associations:
        current = existing_assocs.get(assoc["name"])
        if current is None:
            _associate(session, ns, assoc, create_resource_type=True)
        elif prefer_new:
            rt = metadef_rows.resource_type_row(session, assoc["name"])
            session.execute(sa.update(MetadefNamespaceResourceType).where(
                MetadefNamespaceResourceType.namespace_id == ns.id,
                MetadefNamespaceResourceType.resource_type_id == rt.id).values(
                prefix=assoc.get("prefix"), properties_target=assoc.get("properties_target"),
                updated_at=timeutils.utcnow()))


@engine.retry_on_deadlock
def import_namespace(doc: dict[str, Any], *, merge: bool, prefer_new: bool,
                     overwrite: bool) -> str:
    """Write one validated namespace document; returns what was done:
    ``created``, ``skipped`` (exists, no merge), ``merged`` or ``overwritten``."""
    with _writer() as session:
        row = session.execute(sa.select(MetadefNamespace).where(
            MetadefNamespace.namespace == doc["namespace"])).scalar_one_or_none()
        if row is None:
            row = MetadefNamespace(**{k: doc.get(k) for k in NAMESPACE_FIELDS})
            session.add(row)
            session.flush()
            _add_contents(session, row, doc["properties"], doc["objects"], doc["tags"],
                          doc["resource_type_associations"], create_resource_types=True)
            return "created"
        if not merge:
            return "skipped"
        if prefer_new:
            for key in NAMESPACE_FIELDS:
                setattr(row, key, doc.get(key))
        if overwrite:
            _delete_children(session, row.id, _CHILD_MODELS.values())
            session.flush()
            _add_contents(session, row, doc["properties"], doc["objects"], doc["tags"],
                          doc["resource_type_associations"], create_resource_types=True)
            return "overwritten"
        _merge_contents(session, row, doc, prefer_new)
        return "merged"


def export_all() -> list[dict[str, Any]]:
    """Every namespace with its contents, oldest first."""
    with _reader() as session:
        rows = session.execute(sa.select(MetadefNamespace)
                               .order_by(MetadefNamespace.id)).scalars().all()
        return [_namespace_detail(session, row) for row in rows]


@engine.retry_on_deadlock
def delete_all() -> int:
    """Empty the catalog; resource types created by loading (unprotected) go too.
    Returns the number of namespaces removed."""
    with _writer() as session:
        for model in (MetadefTag, MetadefObject, MetadefProperty,
                      MetadefNamespaceResourceType):
            session.execute(sa.delete(model))
        count = session.execute(sa.delete(MetadefNamespace)).rowcount
        session.execute(sa.delete(MetadefResourceType).where(
            MetadefResourceType.protected.is_(False)))
        return count
