"""Policy rules for the metadata definitions catalog (metadefs).

Reading is open to readers for public namespaces and the namespaces their
project owns; every write is ``rule:metadef_admin`` (administrators by default).
Targets carry the namespace's owner as ``project_id`` and its ``visibility``.
The reads' deprecated default is ``rule:metadef_default`` (empty: allowed), which
``[oslo_policy] enforce_new_defaults = False`` OR-s in.
"""

from oslo_policy import policy

from glance.policies import base

_NS = "/v2/metadefs/namespaces/{namespace_name}"

METADEF_ADMIN = "rule:metadef_admin"
METADEF_DEFAULT = "rule:metadef_default"
NAMESPACE_READER = base.ADMIN_OR_READER_OF_VISIBLE_NAMESPACE
_DEPRECATED_REASON = ("The metadata definitions API now has project-scoped admin and "
                      "reader defaults instead of metadef_default.")


def _rule(name: str, check: str, description: str, method: str, path: str):
    """A write (``rule:metadef_admin``) or a read (deprecated ``metadef_default``)."""
    deprecated = (None if check == METADEF_ADMIN else
                  base.deprecated(name, METADEF_DEFAULT, _DEPRECATED_REASON, base.XENA))
    return base.rule(name, check, description, [(method, path)], legacy=False,
                     deprecated_rule=deprecated)


rules = [
    policy.RuleDefault(
        name="metadef_default", check_str="",
        description="The old default of the read rules below (see "
                    "enforce_new_defaults); empty means allowed."),
    policy.RuleDefault(
        name="metadef_admin", check_str=base.ADMIN,
        description="Who may change the metadata definitions catalog; the write rules "
                    "below refer to it."),
    # namespaces
    _rule("get_metadef_namespaces", base.ADMIN_OR_PROJECT_READER,
          "List the namespaces the caller can see.", "GET", "/v2/metadefs/namespaces"),
    _rule("get_metadef_namespace", NAMESPACE_READER, "Show a namespace.", "GET", _NS),
    _rule("add_metadef_namespace", METADEF_ADMIN, "Create a namespace.",
          "POST", "/v2/metadefs/namespaces"),
    _rule("modify_metadef_namespace", METADEF_ADMIN, "Update a namespace.", "PUT", _NS),
    _rule("delete_metadef_namespace", METADEF_ADMIN,
          "Delete a namespace and all it contains.", "DELETE", _NS),
    # objects
    _rule("get_metadef_objects", NAMESPACE_READER, "List the objects of a namespace.",
          "GET", f"{_NS}/objects"),
    _rule("get_metadef_object", NAMESPACE_READER, "Show an object.",
          "GET", f"{_NS}/objects/{{object_name}}"),
    _rule("add_metadef_object", METADEF_ADMIN, "Create an object.",
          "POST", f"{_NS}/objects"),
    _rule("modify_metadef_object", METADEF_ADMIN, "Update an object.",
          "PUT", f"{_NS}/objects/{{object_name}}"),
    _rule("delete_metadef_object", METADEF_ADMIN,
          "Delete an object, or all objects of a namespace.",
          "DELETE", f"{_NS}/objects/{{object_name}}"),
    # properties
    _rule("get_metadef_properties", NAMESPACE_READER,
          "List the properties of a namespace.", "GET", f"{_NS}/properties"),
    _rule("get_metadef_property", NAMESPACE_READER, "Show a property.",
          "GET", f"{_NS}/properties/{{property_name}}"),
    _rule("add_metadef_property", METADEF_ADMIN, "Create a property.",
          "POST", f"{_NS}/properties"),
    _rule("modify_metadef_property", METADEF_ADMIN, "Update a property.",
          "PUT", f"{_NS}/properties/{{property_name}}"),
    _rule("remove_metadef_property", METADEF_ADMIN,
          "Delete a property, or all properties of a namespace.",
          "DELETE", f"{_NS}/properties/{{property_name}}"),
    # tags
    _rule("get_metadef_tags", NAMESPACE_READER, "List the tags of a namespace.",
          "GET", f"{_NS}/tags"),
    _rule("get_metadef_tag", NAMESPACE_READER, "Show a tag.",
          "GET", f"{_NS}/tags/{{tag_name}}"),
    _rule("add_metadef_tag", METADEF_ADMIN, "Create one tag.",
          "POST", f"{_NS}/tags/{{tag_name}}"),
    _rule("add_metadef_tags", METADEF_ADMIN, "Create (or replace) several tags at once.",
          "POST", f"{_NS}/tags"),
    _rule("modify_metadef_tag", METADEF_ADMIN, "Rename a tag.",
          "PUT", f"{_NS}/tags/{{tag_name}}"),
    _rule("delete_metadef_tag", METADEF_ADMIN, "Delete a tag.",
          "DELETE", f"{_NS}/tags/{{tag_name}}"),
    _rule("delete_metadef_tags", METADEF_ADMIN, "Delete every tag of a namespace.",
          "DELETE", f"{_NS}/tags"),
    # resource types
    _rule("list_metadef_resource_types", NAMESPACE_READER,
          "List the resource types.", "GET", "/v2/metadefs/resource_types"),
    _rule("get_metadef_resource_type", NAMESPACE_READER,
          "List the resource type associations of a namespace.",
          "GET", f"{_NS}/resource_types"),
    _rule("add_metadef_resource_type_association", METADEF_ADMIN,
          "Associate a namespace with a resource type.", "POST", f"{_NS}/resource_types"),
    _rule("remove_metadef_resource_type_association", METADEF_ADMIN,
          "Remove a namespace's association with a resource type.",
          "DELETE", f"{_NS}/resource_types/{{name}}"),
]


def list_rules() -> list:
    """Metadef rules."""
    return rules
