"""``/v2/images/{image_id}/members``: share images with other projects."""

import unicodedata
from typing import Any

import webob

from glance import exception, hierarchy, schema
from glance.api import wsgi
from glance.api.v2.images import check_image_id
from glance.services.members import MemberService

MAX_MEMBER_LENGTH = 255


def _member_schema_properties() -> dict[str, dict]:
    return {
        "member_id": {"type": "string",
                      "description": "The project the image is shared with."},
        "image_id": {"type": "string", "pattern": schema.UUID_PATTERN,
                     "description": "The shared image."},
        "created_at": {"type": "string",
                       "description": "When the image was shared with this project."},
        "updated_at": {"type": "string",
                       "description": "When the membership last changed."},
        "status": {"type": "string", "enum": ["pending", "accepted", "rejected"],
                   "description": "Whether the member project accepted the image."},
        "schema": {"type": "string", "readOnly": True},
    }


def _scope_property() -> dict[str, dict]:
    """The ``scope`` property, served only with hierarchical image access on."""
    if not hierarchy.enabled():
        return {}
    return {"scope": {"type": "string", "enum": ["project", "subtree", "domain"],
                      "description": "What member_id names: a project (the default; "
                      "shown only for the other scopes), the project and every project "
                      "below it (subtree), or a domain: every project of it (domain)."}}


def member_schema() -> dict:
    """The ``member`` schema document."""
    return {"name": "member",
            "properties": {**_member_schema_properties(), **_scope_property()},
            "additionalProperties": False}


def members_schema() -> dict:
    """The ``members`` schema document."""
    return {
        "name": "members",
        "properties": {"members": {"type": "array", "items": member_schema()},
                       "schema": {"type": "string"}},
        "links": [{"href": "{schema}", "rel": "describedby"}],
    }


def _unstorable(char: str) -> bool:
    """Characters a project id never has and some databases cannot store."""
    return (unicodedata.category(char) in ("Cc", "Cs")
            or ord(char) > 0xFFFF)


def _object_body(request: wsgi.Request) -> dict:
    if not request.has_body():
        raise exception.BadRequest("Body expected in request.")
    body = request.json_object()
    return body


class RequestDeserializer:
    """Validates bodies; returns the controller's keyword arguments."""

    def create(self, request: wsgi.Request) -> dict[str, Any]:
        body = _object_body(request)
        if "member" not in body:
            raise exception.BadRequest("Member to be added not specified")
        member = body["member"]
        if not isinstance(member, str):
            raise exception.BadRequest("Member must be a string (a project id).")
        if not member.strip():
            raise exception.BadRequest("Member can't be empty")
        if len(member) > MAX_MEMBER_LENGTH:
            raise exception.BadRequest(
                f"Member is too long: the maximum is {MAX_MEMBER_LENGTH} characters.")
        if any(_unstorable(char) for char in member):
            raise exception.BadRequest("Member may not contain control characters, "
                                       "surrogates or 4-byte UTF-8 characters.")
        if "scope" not in body:
            return {"member": member}
        if not hierarchy.enabled():
            raise exception.BadRequest("Member scope is not enabled on this cloud "
                                       "([DEFAULT] hierarchical_image_access).")
        if body["scope"] not in ("project", "subtree", "domain"):
            raise exception.BadRequest('Member scope must be "project", "subtree" or '
                                       '"domain".')
        return {"member": member, "scope": body["scope"]}

    def update(self, request: wsgi.Request) -> dict[str, Any]:
        body = _object_body(request)
        if "status" not in body:
            raise exception.BadRequest("Status not specified")
        if not isinstance(body["status"], str):
            raise exception.BadRequest('Status must be "pending", "accepted" or '
                                       '"rejected".')
        return {"status": body["status"]}

    def delete(self, request: wsgi.Request) -> dict[str, Any]:
        if request.has_body():
            raise exception.BodyNotExpected()
        return {}


class MembersController:
    """Member actions; plain arguments in, membership dicts out."""

    def __init__(self, service: MemberService) -> None:
        self.service = service

    def create(self, request: wsgi.Request, image_id: str, member: str,
               scope: str | None = None) -> dict:
        check_image_id(image_id)
        return self.service.create(request.context, image_id, member, scope)

    def index(self, request: wsgi.Request, image_id: str) -> list[dict]:
        check_image_id(image_id)
        return self.service.list(request.context, image_id)

    def show(self, request: wsgi.Request, image_id: str, member_id: str) -> dict:
        check_image_id(image_id)
        return self.service.get(request.context, image_id, member_id)

    def update(self, request: wsgi.Request, image_id: str, member_id: str,
               status: str) -> dict:
        check_image_id(image_id)
        return self.service.update(request.context, image_id, member_id, status)

    def delete(self, request: wsgi.Request, image_id: str, member_id: str) -> None:
        check_image_id(image_id)
        self.service.delete(request.context, image_id, member_id)


def member_view(member: dict) -> dict[str, Any]:
    """The JSON representation of a membership (``scope`` only when not a project)."""
    view = {"member_id": member["member"], "image_id": member["image_id"],
            "status": member["status"], "created_at": member["created_at"],
            "updated_at": member["updated_at"] or member["created_at"],
            "schema": "/v2/schemas/member"}
    if member.get("scope"):
        view["scope"] = member["scope"]
    return view


class ResponseSerializer:
    """Renders memberships; no I/O."""

    def create(self, response: webob.Response, member: dict) -> None:
        wsgi.json_response(response, member_view(member))

    show = update = create

    def index(self, response: webob.Response, members: list[dict]) -> None:
        wsgi.json_response(response, {"members": [member_view(m) for m in members],
                                       "schema": "/v2/schemas/members"})

    def delete(self, response: webob.Response, _result: None) -> None:
        response.status_int = 204


def create_resource(service: MemberService) -> wsgi.Resource:
    """The members resource for the router."""
    return wsgi.Resource(MembersController(service), RequestDeserializer(), ResponseSerializer())
