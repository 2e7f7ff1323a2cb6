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
from oslo_db import exception as db_exc
from oslo_serialization import jsonutils
from oslo_utils import timeutils
from sqlalchemy.orm import Session

from glance import exception
from glance.db import queries
from glance.db.sqlalchemy import engine, paging
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
NAMESPACE_FIELDS = ("namespace", "display_name", "description", "visibility", "protected",
                    "owner")

_writer = engine.writer_session
_reader = engine.reader_session


# -- row -> dict -------------------------------------------------------------------------

def _stamps(row) -> dict[str, Any]:
    return {"created_at": row.created_at, "updated_at": row.updated_at}


def _namespace_dict(row: MetadefNamespace) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in NAMESPACE_FIELDS}
    # OpenStack Glance's schema lets these be NULL (its load_metadefs leaves visibility
    # unset for files that do not name one) and shows Glance's defaults for them.
    if values["visibility"] is None:
        values["visibility"] = "private"
    if values["protected"] is None:
        values["protected"] = False
    values["id"] = row.id
    values.update(_stamps(row))
    return values


def _object_dict(row: MetadefObject) -> dict[str, Any]:
    return {"name": row.name, "description": row.description,
            "required": jsonutils.loads(row.required) if row.required else [],
            "properties": jsonutils.loads(row.json_schema) if row.json_schema else {},
            **_stamps(row)}


def _property_dict(row: MetadefProperty) -> dict[str, Any]:
    return {"name": row.name, "schema": jsonutils.loads(row.json_schema), **_stamps(row)}


def _tag_dict(row: MetadefTag) -> dict[str, Any]:
    return {"name": row.name, **_stamps(row)}


def _association_dict(assoc: MetadefNamespaceResourceType, name: str) -> dict[str, Any]:
    return {"name": name, "prefix": assoc.prefix,
            "properties_target": assoc.properties_target, **_stamps(assoc)}


# -- visibility and lookups --------------------------------------------------------------

def _visible(context) -> sa.ColumnElement:
    if context is None or context.is_admin:
        return sa.true()
    clauses = [MetadefNamespace.visibility == "public"]
    if context.owner is not None:
        clauses.append(MetadefNamespace.owner == context.owner)
    return sa.or_(*clauses)


def _namespace_row(session: Session, context, name: str) -> MetadefNamespace:
    row = session.execute(
        sa.select(MetadefNamespace).where(MetadefNamespace.namespace == name,
                                          _visible(context))).scalar_one_or_none()
    if row is None:
        raise exception.MetadefNamespaceNotFound(namespace=name)
    return row


def _child_row(session: Session, model, namespace: MetadefNamespace, name: str,
               not_found: type[exception.NotFound]):
    row = session.execute(sa.select(model).where(
        model.namespace_id == namespace.id, model.name == name)).scalar_one_or_none()
    if row is None:
        raise not_found(name=name, namespace=namespace.namespace)
    return row


def _resource_type_row(session: Session, name: str) -> MetadefResourceType:
    row = session.execute(sa.select(MetadefResourceType).where(
        MetadefResourceType.name == name)).scalar_one_or_none()
    if row is None:
        raise exception.MetadefResourceTypeNotFound(name=name)
    return row


def _paginate(session: Session, query, model, *, limit: int | None, marker_row,
              sort_key: str, sort_dir: str):
    return paging.paginate(query, model, limit, [(sort_key, sort_dir)], marker_row)


def _flush(session: Session, duplicate: exception.GlanceException) -> None:
    try:
        session.flush()
    except db_exc.DBDuplicateEntry as err:
        raise duplicate from err


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
        found[assoc.namespace_id].append(_association_dict(assoc, name))
    return found


def namespace_list(context, *, limit: int | None, marker: str | None = None,
                   sort_key: str = "created_at", sort_dir: str = "desc",
                   visibility: str | None = None,
                   resource_types: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One page of visible namespaces, each with its resource type associations."""
    with _reader() as session:
        conditions = [_visible(context)]
        if visibility:
            conditions.append(MetadefNamespace.visibility == visibility)
        resource_types = list(resource_types)
        if resource_types:
            conditions.append(MetadefNamespace.id.in_(
                sa.select(MetadefNamespaceResourceType.namespace_id)
                .join(MetadefResourceType, MetadefResourceType.id
                      == MetadefNamespaceResourceType.resource_type_id)
                .where(MetadefResourceType.name.in_(resource_types))))
        marker_row = _namespace_row(session, context, marker) if marker else None
        query = session.query(MetadefNamespace).filter(*conditions)
        rows = _paginate(session, query, MetadefNamespace, limit=limit,
                         marker_row=marker_row, sort_key=sort_key, sort_dir=sort_dir).all()
        namespaces = [_namespace_dict(row) for row in rows]
        assocs = _associations(session, [ns["id"] for ns in namespaces])
        for ns in namespaces:
            ns["resource_type_associations"] = assocs[ns["id"]]
        return namespaces


def _namespace_detail(session: Session, row: MetadefNamespace) -> dict[str, Any]:
    detail = _namespace_dict(row)
    detail["resource_type_associations"] = _associations(session, [row.id])[row.id]
    detail["properties"] = [_property_dict(r) for r in session.execute(
        sa.select(MetadefProperty).where(MetadefProperty.namespace_id == row.id)
        .order_by(MetadefProperty.id)).scalars()]
    detail["objects"] = [_object_dict(r) for r in session.execute(
        sa.select(MetadefObject).where(MetadefObject.namespace_id == row.id)
        .order_by(MetadefObject.id)).scalars()]
    detail["tags"] = [_tag_dict(r) for r in session.execute(
        sa.select(MetadefTag).where(MetadefTag.namespace_id == row.id)
        .order_by(MetadefTag.id)).scalars()]
    return detail


def namespace_get(context, name: str, *, detail: bool = False) -> dict[str, Any]:
    """A visible namespace; with ``detail`` also its properties, objects, tags and
    resource type associations."""
    with _reader() as session:
        row = _namespace_row(session, context, name)
        if detail:
            return _namespace_detail(session, row)
        namespace = _namespace_dict(row)
        namespace["resource_type_associations"] = _associations(session, [row.id])[row.id]
        return namespace


def namespace_create(values: dict[str, Any]) -> dict[str, Any]:
    """Insert a namespace row; Duplicate when the name is taken."""
    with _writer() as session:
        row = MetadefNamespace(**{k: values.get(k) for k in NAMESPACE_FIELDS})
        session.add(row)
        _flush(session, exception.MetadefDuplicateNamespace(namespace=values["namespace"]))
        return _namespace_dict(row)


def namespace_create_full(values: dict[str, Any], *, properties: dict[str, dict],
                          objects: Sequence[dict], tags: Sequence[str],
                          associations: Sequence[dict]) -> dict[str, Any]:
    """Create a namespace and its contents in one transaction (all or nothing)."""
    with _writer() as session:
        row = MetadefNamespace(**{k: values.get(k) for k in NAMESPACE_FIELDS})
        session.add(row)
        _flush(session, exception.MetadefDuplicateNamespace(namespace=values["namespace"]))
        _add_contents(session, row, properties, objects, tags, associations,
                      create_resource_types=True)
        return _namespace_detail(session, row)


def namespace_update(context, name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Replace a namespace's attributes (including a rename)."""
    with _writer() as session:
        row = _namespace_row(session, context, name)
        for key in NAMESPACE_FIELDS:
            if key in values:
                setattr(row, key, values[key])
        _flush(session, exception.MetadefDuplicateNamespace(namespace=values.get(
            "namespace", name)))
        namespace = _namespace_dict(row)
        namespace["resource_type_associations"] = _associations(session, [row.id])[row.id]
        return namespace


def _delete_children(session: Session, namespace_id: int, models: Iterable) -> None:
    for model in models:
        session.execute(sa.delete(model).where(model.namespace_id == namespace_id))


_CHILD_MODELS = {"objects": MetadefObject, "properties": MetadefProperty,
                 "tags": MetadefTag, "associations": MetadefNamespaceResourceType}


def namespace_delete(context, name: str) -> None:
    """Delete a namespace and everything in it."""
    with _writer() as session:
        row = _namespace_row(session, context, name)
        _delete_children(session, row.id, _CHILD_MODELS.values())
        session.delete(row)


def namespace_delete_contents(context, name: str, kind: str) -> None:
    """Delete all ``objects``, ``properties`` or ``tags`` of a namespace."""
    with _writer() as session:
        row = _namespace_row(session, context, name)
        _delete_children(session, row.id, [_CHILD_MODELS[kind]])


# -- objects and properties --------------------------------------------------------------

def _children_page(context, namespace: str, model, not_found, to_dict, *,
                   limit: int | None, marker: str | None, sort_key: str,
                   sort_dir: str) -> list[dict[str, Any]]:
    """One page of a namespace's objects or tags (``model``), rendered by ``to_dict``."""
    with _reader() as session:
        ns = _namespace_row(session, context, namespace)
        marker_row = (_child_row(session, model, ns, marker, not_found) if marker
                      else None)
        query = session.query(model).filter(model.namespace_id == ns.id)
        rows = _paginate(session, query, model, limit=limit, marker_row=marker_row,
                         sort_key=sort_key, sort_dir=sort_dir).all()
        return [to_dict(row) for row in rows]


def _child_get(context, namespace: str, name: str, model, not_found, to_dict
               ) -> dict[str, Any]:
    """One object, property or tag of a namespace, by name."""
    with _reader() as session:
        ns = _namespace_row(session, context, namespace)
        return to_dict(_child_row(session, model, ns, name, not_found))


def _object_values(values: dict[str, Any]) -> dict[str, Any]:
    return {"name": values["name"], "description": values.get("description"),
            "required": jsonutils.dumps(list(values.get("required") or [])),
            "json_schema": jsonutils.dumps(values.get("properties") or {})}


def object_list(context, namespace: str, *, limit: int | None = None,
                marker: str | None = None, sort_key: str = "created_at",
                sort_dir: str = "desc") -> list[dict[str, Any]]:
    return _children_page(context, namespace, MetadefObject,
                          exception.MetadefObjectNotFound, _object_dict, limit=limit,
                          marker=marker, sort_key=sort_key, sort_dir=sort_dir)


def object_get(context, namespace: str, name: str) -> dict[str, Any]:
    return _child_get(context, namespace, name, MetadefObject,
                      exception.MetadefObjectNotFound, _object_dict)


def object_create(context, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        row = MetadefObject(namespace_id=ns.id, **_object_values(values))
        session.add(row)
        _flush(session, exception.MetadefDuplicateObject(name=values["name"],
                                                         namespace=namespace))
        return _object_dict(row)


def object_update(context, namespace: str, name: str,
                  values: dict[str, Any]) -> dict[str, Any]:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        row = _child_row(session, MetadefObject, ns, name, exception.MetadefObjectNotFound)
        for key, value in _object_values(values).items():
            setattr(row, key, value)
        _flush(session, exception.MetadefDuplicateObject(name=values["name"],
                                                         namespace=namespace))
        return _object_dict(row)


def object_delete(context, namespace: str, name: str) -> None:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        session.delete(_child_row(session, MetadefObject, ns, name,
                                  exception.MetadefObjectNotFound))


def property_list(context, namespace: str) -> list[dict[str, Any]]:
    with _reader() as session:
        ns = _namespace_row(session, context, namespace)
        return [_property_dict(r) for r in session.execute(
            sa.select(MetadefProperty).where(MetadefProperty.namespace_id == ns.id)
            .order_by(MetadefProperty.id)).scalars()]


def property_get(context, namespace: str, name: str) -> dict[str, Any]:
    return _child_get(context, namespace, name, MetadefProperty,
                      exception.MetadefPropertyNotFound, _property_dict)


def property_create(context, namespace: str, name: str, schema: dict) -> dict[str, Any]:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        row = MetadefProperty(namespace_id=ns.id, name=name,
                              json_schema=jsonutils.dumps(schema))
        session.add(row)
        _flush(session, exception.MetadefDuplicateProperty(name=name, namespace=namespace))
        return _property_dict(row)


def property_update(context, namespace: str, name: str, new_name: str,
                    schema: dict) -> dict[str, Any]:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        row = _child_row(session, MetadefProperty, ns, name,
                         exception.MetadefPropertyNotFound)
        row.name, row.json_schema = new_name, jsonutils.dumps(schema)
        _flush(session, exception.MetadefDuplicateProperty(name=new_name,
                                                           namespace=namespace))
        return _property_dict(row)


def property_delete(context, namespace: str, name: str) -> None:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        session.delete(_child_row(session, MetadefProperty, ns, name,
                                  exception.MetadefPropertyNotFound))


# -- tags --------------------------------------------------------------------------------

def tag_list(context, namespace: str, *, limit: int | None = None,
             marker: str | None = None, sort_key: str = "created_at",
             sort_dir: str = "desc") -> list[dict[str, Any]]:
    return _children_page(context, namespace, MetadefTag, exception.MetadefTagNotFound,
                          _tag_dict, limit=limit, marker=marker, sort_key=sort_key,
                          sort_dir=sort_dir)


def tag_get(context, namespace: str, name: str) -> dict[str, Any]:
    return _child_get(context, namespace, name, MetadefTag, exception.MetadefTagNotFound,
                      _tag_dict)


def tag_create(context, namespace: str, name: str) -> dict[str, Any]:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        row = MetadefTag(namespace_id=ns.id, name=name)
        session.add(row)
        _flush(session, exception.MetadefDuplicateTag(name=name, namespace=namespace))
        return _tag_dict(row)


def tag_create_many(context, namespace: str, names: Sequence[str],
                    append: bool) -> list[dict[str, Any]]:
    """Create several tags at once; without ``append`` they replace the existing ones."""
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
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
        _flush(session, exception.MetadefDuplicateTag(name=", ".join(names),
                                                      namespace=namespace))
        return [_tag_dict(row) for row in rows]


def tag_update(context, namespace: str, name: str, new_name: str) -> dict[str, Any]:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        row = _child_row(session, MetadefTag, ns, name, exception.MetadefTagNotFound)
        row.name = new_name
        _flush(session, exception.MetadefDuplicateTag(name=new_name, namespace=namespace))
        return _tag_dict(row)


def tag_delete(context, namespace: str, name: str) -> None:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        session.delete(_child_row(session, MetadefTag, ns, name,
                                  exception.MetadefTagNotFound))


# -- resource types and associations -----------------------------------------------------

def resource_type_list() -> list[dict[str, Any]]:
    """Every resource type (they are global, not owned)."""
    with _reader() as session:
        rows = session.execute(sa.select(MetadefResourceType)
                               .order_by(MetadefResourceType.id)).scalars()
        return [{"name": row.name, "protected": row.protected, **_stamps(row)}
                for row in rows]


def association_list(context, namespace: str) -> list[dict[str, Any]]:
    with _reader() as session:
        ns = _namespace_row(session, context, namespace)
        return _associations(session, [ns.id])[ns.id]


def _associate(session: Session, ns: MetadefNamespace, values: dict[str, Any],
               create_resource_type: bool) -> dict[str, Any]:
    name = values["name"]
    try:
        resource_type = _resource_type_row(session, name)
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
    _flush(session, exception.MetadefDuplicateAssociation(resource_type=name,
                                                          namespace=ns.namespace))
    return _association_dict(assoc, name)


def association_create(context, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    """Associate a namespace with a resource type, creating an unknown type on the way."""
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        return _associate(session, ns, values, create_resource_type=True)


def association_delete(context, namespace: str, resource_type: str) -> None:
    with _writer() as session:
        ns = _namespace_row(session, context, namespace)
        rt = _resource_type_row(session, resource_type)
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
        _flush(session, exception.MetadefDuplicateProperty(name=prop_name, namespace=name))
    for obj in objects:
        session.add(MetadefObject(namespace_id=ns.id, **_object_values(obj)))
        _flush(session, exception.MetadefDuplicateObject(name=obj["name"], namespace=name))
    for tag in tags:
        session.add(MetadefTag(namespace_id=ns.id, name=tag))
        _flush(session, exception.MetadefDuplicateTag(name=tag, namespace=name))


def _merge_contents(session: Session, ns: MetadefNamespace, doc: dict[str, Any],
                    prefer_new: bool) -> None:
    """Add what the namespace lacks; with ``prefer_new`` also update what it has."""
    existing_props = {row.name: row for row in session.execute(sa.select(MetadefProperty)
                      .where(MetadefProperty.namespace_id == ns.id)).scalars()}
    for prop_name, schema in doc["properties"].items():
        row = existing_props.get(prop_name)
        if row is None:
            session.add(MetadefProperty(namespace_id=ns.id, name=prop_name,
                                        json_schema=jsonutils.dumps(schema)))
        elif prefer_new:
            row.json_schema = jsonutils.dumps(schema)
    existing_objs = {row.name: row for row in session.execute(sa.select(MetadefObject)
                     .where(MetadefObject.namespace_id == ns.id)).scalars()}
    for obj in doc["objects"]:
        row = existing_objs.get(obj["name"])
        if row is None:
            session.add(MetadefObject(namespace_id=ns.id, **_object_values(obj)))
        elif prefer_new:
            for key, value in _object_values(obj).items():
                setattr(row, key, value)
    existing_tags = set(session.execute(sa.select(MetadefTag.name)
                                        .where(MetadefTag.namespace_id == ns.id)).scalars())
    for tag in doc["tags"]:
        if tag not in existing_tags:
            session.add(MetadefTag(namespace_id=ns.id, name=tag))
    existing_assocs = {a["name"]: a for a in _associations(session, [ns.id])[ns.id]}
    for assoc in doc["resource_type_associations"]:
        current = existing_assocs.get(assoc["name"])
        if current is None:
            _associate(session, ns, assoc, create_resource_type=True)
        elif prefer_new:
            rt = _resource_type_row(session, assoc["name"])
            session.execute(sa.update(MetadefNamespaceResourceType).where(
                MetadefNamespaceResourceType.namespace_id == ns.id,
                MetadefNamespaceResourceType.resource_type_id == rt.id).values(
                prefix=assoc.get("prefix"), properties_target=assoc.get("properties_target"),
                updated_at=timeutils.utcnow()))
    session.flush()


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
