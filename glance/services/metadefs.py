"""Metadata definitions catalog use cases: policy first, then the rules, then the DB.

Namespaces the caller cannot see answer 404, never 403; writes the caller may
not make answer 403 once the namespace is known to be visible.
"""

from typing import Any

from glance import exception, notifier
from glance.db.sqlalchemy import metadef_api
from glance.domain import metadef as rules


def namespace_target(namespace: dict[str, Any]) -> dict[str, Any]:
    """What policy check strings may refer to about a namespace."""
    return {"project_id": namespace["owner"], "owner": namespace["owner"],
            "visibility": namespace["visibility"], "namespace": namespace["namespace"]}


def _prefix_of(namespace: dict[str, Any], resource_type: str | None) -> str | None:
    for assoc in namespace.get("resource_type_associations", []):
        if assoc["name"] == resource_type:
            return assoc.get("prefix")
    return None


class MetadefService:
    """One method per catalog operation."""

    def __init__(self, db, enforcer) -> None:
        self.db = db
        self.policy = enforcer

    # -- helpers ------------------------------------------------------------------------

    def _namespace(self, context, name: str, action: str,
                   detail: bool = False) -> dict[str, Any]:
        """A visible namespace the caller may read; then ``action`` is checked (403)."""
        namespace = self.db.namespace_get(context, name, detail=detail)
        target = namespace_target(namespace)
        try:
            self.policy.authorize(context, "get_metadef_namespace", target)
        except exception.Forbidden as err:
            raise exception.MetadefNamespaceNotFound(namespace=name) from err
        if action != "get_metadef_namespace":
            self.policy.authorize(context, action, target)
        return namespace

    @staticmethod
    def _check_unprotected(namespace: dict[str, Any], what: str) -> None:
        if namespace["protected"]:
            raise exception.MetadefProtected(namespace=namespace["namespace"], what=what)

    # -- namespaces ---------------------------------------------------------------------

    def list_namespaces(self, context, **query) -> list[dict[str, Any]]:
        """One page of namespaces; as in Glance, the listing needs
        get_metadef_namespaces and list_metadef_resource_types, and each namespace
        of the database's page is then checked with get_metadef_namespace."""
        caller = {"project_id": context.project_id}
        self.policy.authorize(context, "get_metadef_namespaces", caller)
        self.policy.authorize(context, "list_metadef_resource_types", caller)
        return self.policy.filter_allowed(context, "get_metadef_namespace",
                                          self.db.namespace_list(context, **query),
                                          namespace_target)

    def get_namespace(self, context, name: str,
                      resource_type: str | None = None) -> dict[str, Any]:
        """The namespace with its contents; with ``resource_type`` the property names
        carry that resource type's prefix."""
        namespace = self._namespace(context, name, "get_metadef_namespace", detail=True)
        prefix = _prefix_of(namespace, resource_type)
        if prefix:
            for prop in namespace["properties"]:
                prop["name"] = prefix + prop["name"]
            for obj in namespace["objects"]:
                obj["properties"] = {prefix + key: value
                                     for key, value in obj["properties"].items()}
                obj["required"] = [prefix + key for key in obj["required"]]
        return namespace

    def create_namespace(self, context, body: dict[str, Any]) -> dict[str, Any]:
        doc = rules.clean_namespace_document(body, default_owner=context.owner)
        self.policy.authorize(context, "add_metadef_namespace", namespace_target(doc))
        if doc["owner"] != context.owner and not context.is_admin:
            raise exception.Forbidden("You are not permitted to create a namespace owned "
                                      f"by '{doc['owner']}'.")
        created = self.db.namespace_create_full(
            doc, properties=doc["properties"], objects=doc["objects"], tags=doc["tags"],
            associations=doc["resource_type_associations"])
        notifier.notify(context, "metadef_namespace.create",
                        lambda: notifier.namespace_payload(created))
        return created

    def update_namespace(self, context, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Replace the namespace's attributes; omitted ones take their defaults."""
        current = self._namespace(context, name, "modify_metadef_namespace")
        new_name = rules.check_namespace_name(body.get("namespace", name))
        doc = rules.clean_namespace_document(
            {key: body[key] for key in metadef_api.NAMESPACE_FIELDS if key in body} | {
                "namespace": new_name},
            default_owner=context.owner)
        if doc["owner"] != current["owner"] and not context.is_admin:
            raise exception.Forbidden("Only administrators may change a namespace's owner.")
        values = {key: doc[key] for key in metadef_api.NAMESPACE_FIELDS}
        updated = self.db.namespace_update(context, name, values)
        notifier.notify(context, "metadef_namespace.update",
                        lambda: notifier.namespace_payload(updated, old_name=name))
        return updated

    def delete_namespace(self, context, name: str) -> None:
        namespace = self._namespace(context, name, "delete_metadef_namespace")
        if namespace["protected"]:
            raise exception.Forbidden(f"Namespace {name} is protected and cannot be "
                                      "deleted.")
        self.db.namespace_delete(context, name)
        notifier.notify(context, "metadef_namespace.delete", lambda: notifier.namespace_payload(
            namespace, **notifier.deleted()))

    def delete_contents(self, context, name: str, kind: str) -> None:
        """Delete every object, property or tag of a namespace."""
        action = {"objects": "delete_metadef_object", "properties": "remove_metadef_property",
                  "tags": "delete_metadef_tags"}[kind]
        namespace = self._namespace(context, name, action)
        self._check_unprotected(namespace, kind)
        self.db.namespace_delete_contents(context, name, kind)
        notifier.notify(context, f"metadef_namespace.delete_{kind}",
                        lambda: notifier.namespace_payload(namespace))

    # -- objects ------------------------------------------------------------------------

    def list_objects(self, context, namespace: str, **query) -> list[dict[str, Any]]:
        """The objects, each also checked with get_metadef_object (as in Glance)."""
        target = namespace_target(self._namespace(context, namespace, "get_metadef_objects"))
        return self.policy.filter_allowed(context, "get_metadef_object",
                                          self.db.object_list(context, namespace, **query),
                                          lambda _obj: target)

    def get_object(self, context, namespace: str, name: str) -> dict[str, Any]:
        self._namespace(context, namespace, "get_metadef_object")
        return self.db.object_get(context, namespace, name)

    def create_object(self, context, namespace: str, body: Any) -> dict[str, Any]:
        self._namespace(context, namespace, "add_metadef_object")
        created = self.db.object_create(context, namespace, rules.clean_object(body))
        notifier.notify(context, "metadef_object.create",
                        lambda: notifier.object_payload(namespace, created))
        return created

    def update_object(self, context, namespace: str, name: str, body: Any) -> dict[str, Any]:
        self._namespace(context, namespace, "modify_metadef_object")
        updated = self.db.object_update(context, namespace, name, rules.clean_object(body))
        notifier.notify(context, "metadef_object.update",
                        lambda: notifier.object_payload(namespace, updated, old_name=name))
        return updated

    def delete_object(self, context, namespace: str, name: str) -> None:
        ns = self._namespace(context, namespace, "delete_metadef_object")
        obj = self.db.object_get(context, namespace, name)
        self._check_unprotected(ns, f"object {name}")
        self.db.object_delete(context, namespace, name)
        notifier.notify(context, "metadef_object.delete", lambda: notifier.object_payload(
            namespace, obj, **notifier.deleted()))

    # -- properties ---------------------------------------------------------------------

    def list_properties(self, context, namespace: str) -> list[dict[str, Any]]:
        self._namespace(context, namespace, "get_metadef_properties")
        return self.db.property_list(context, namespace)

    def get_property(self, context, namespace: str, name: str,
                     resource_type: str | None = None) -> dict[str, Any]:
        """A property; with ``resource_type`` the name given carries that type's prefix."""
        ns = self._namespace(context, namespace, "get_metadef_property")
        if resource_type:
            prefix = _prefix_of(ns, resource_type)
            if prefix:
                if not name.startswith(prefix):
                    raise exception.MetadefPropertyNotFound(name=name, namespace=namespace)
                name = name[len(prefix):]
        return self.db.property_get(context, namespace, name)

    def create_property(self, context, namespace: str, body: Any) -> dict[str, Any]:
        self._namespace(context, namespace, "add_metadef_property")
        name, schema = self._property_body(body)
        created = self.db.property_create(context, namespace, name, schema)
        notifier.notify(context, "metadef_property.create",
                        lambda: notifier.property_payload(namespace, created))
        return created

    def update_property(self, context, namespace: str, name: str,
                        body: Any) -> dict[str, Any]:
        self._namespace(context, namespace, "modify_metadef_property")
        new_name, schema = self._property_body(body)
        updated = self.db.property_update(context, namespace, name, new_name, schema)
        notifier.notify(context, "metadef_property.update",
                        lambda: notifier.property_payload(namespace, updated, old_name=name))
        return updated

    def delete_property(self, context, namespace: str, name: str) -> None:
        ns = self._namespace(context, namespace, "remove_metadef_property")
        prop = self.db.property_get(context, namespace, name)
        self._check_unprotected(ns, f"property {name}")
        self.db.property_delete(context, namespace, name)
        notifier.notify(context, "metadef_property.delete", lambda: notifier.property_payload(
            namespace, prop, **notifier.deleted()))

    @staticmethod
    def _property_body(body: Any) -> tuple[str, dict]:
        if not isinstance(body, dict):
            raise exception.MetadefInvalid(reason="a property must be a JSON object")
        definition = {key: value for key, value in body.items() if key != "name"}
        return body.get("name"), rules.clean_property(body.get("name"), definition)

    # -- tags ---------------------------------------------------------------------------

    def list_tags(self, context, namespace: str, **query) -> list[dict[str, Any]]:
        self._namespace(context, namespace, "get_metadef_tags")
        return self.db.tag_list(context, namespace, **query)

    def get_tag(self, context, namespace: str, name: str) -> dict[str, Any]:
        self._namespace(context, namespace, "get_metadef_tag")
        return self.db.tag_get(context, namespace, name)

    def create_tag(self, context, namespace: str, name: str) -> dict[str, Any]:
        self._namespace(context, namespace, "add_metadef_tag")
        created = self.db.tag_create(context, namespace, rules.check_name("tag", name))
        notifier.notify(context, "metadef_tag.create",
                        lambda: notifier.tag_payload(namespace, created))
        return created

    def create_tags(self, context, namespace: str, tags: Any,
                    append: bool) -> list[dict[str, Any]]:
        """Create several tags; unless ``append``, they replace the namespace's tags."""
        self._namespace(context, namespace, "add_metadef_tags")
        names = rules.clean_tags(tags, namespace)
        created = self.db.tag_create_many(context, namespace, names, append)
        for tag in created:
            notifier.notify(context, "metadef_tag.create",
                            lambda tag=tag: notifier.tag_payload(namespace, tag))
        return created

    def update_tag(self, context, namespace: str, name: str, body: Any) -> dict[str, Any]:
        self._namespace(context, namespace, "modify_metadef_tag")
        if not isinstance(body, dict):
            raise exception.MetadefInvalid(reason="a tag must be a JSON object")
        new_name = rules.check_name("tag", body.get("name"))
        updated = self.db.tag_update(context, namespace, name, new_name)
        notifier.notify(context, "metadef_tag.update",
                        lambda: notifier.tag_payload(namespace, updated, old_name=name))
        return updated

    def delete_tag(self, context, namespace: str, name: str) -> None:
        ns = self._namespace(context, namespace, "delete_metadef_tag")
        tag = self.db.tag_get(context, namespace, name)
        self._check_unprotected(ns, f"tag {name}")
        self.db.tag_delete(context, namespace, name)
        notifier.notify(context, "metadef_tag.delete", lambda: notifier.tag_payload(
            namespace, tag, **notifier.deleted()))

    # -- resource types -----------------------------------------------------------------

    def list_resource_types(self, context) -> list[dict[str, Any]]:
        self.policy.authorize(context, "list_metadef_resource_types",
                              {"project_id": context.project_id})
        return self.db.resource_type_list()

    def list_associations(self, context, namespace: str) -> list[dict[str, Any]]:
        """As in Glance: list_metadef_resource_types on the namespace, then each
        association checked with get_metadef_resource_type."""
        target = namespace_target(
            self._namespace(context, namespace, "list_metadef_resource_types"))
        return self.policy.filter_allowed(context, "get_metadef_resource_type",
                                          self.db.association_list(context, namespace),
                                          lambda _assoc: target)

    def create_association(self, context, namespace: str, body: Any) -> dict[str, Any]:
        self._namespace(context, namespace, "add_metadef_resource_type_association")
        created = self.db.association_create(context, namespace,
                                             rules.clean_association(body))
        notifier.notify(context, "metadef_resource_type.create",
                        lambda: notifier.resource_type_payload(namespace, created))
        return created

    def delete_association(self, context, namespace: str, resource_type: str) -> None:
        self._namespace(context, namespace, "remove_metadef_resource_type_association")
        before = self.db.association_list(context, namespace)
        self.db.association_delete(context, namespace, resource_type)
        gone = next((a for a in before if a["name"] == resource_type), {"name": resource_type})
        notifier.notify(context, "metadef_resource_type.delete", lambda: notifier.
                        resource_type_payload(namespace, gone, **notifier.deleted()))

