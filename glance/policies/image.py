"""Policy rules for images and their data."""

from oslo_policy import policy

from glance.policies import base

_PROJECT = ["project"]


def _rule(name: str, check: str, description: str, method: str, path: str):
    return policy.DocumentedRuleDefault(
        name=name, check_str=check, description=description, scope_types=_PROJECT,
        operations=[{"method": method, "path": path}])


rules = [
    _rule("add_image", f"{base.ADMIN} or (role:member and project_id:%(owner)s)",
          "Create an image (owned by the caller's project unless admin).",
          "POST", "/v2/images"),
    _rule("get_images", base.ADMIN_OR_PROJECT_READER,
          "List the images the caller can see.", "GET", "/v2/images"),
    _rule("get_image", base.ADMIN_OR_IMAGE_READER, "Show an image.",
          "GET", "/v2/images/{image_id}"),
    _rule("modify_image", base.ADMIN_OR_PROJECT_MEMBER,
          "Update an image's attributes, properties or tags.",
          "PATCH", "/v2/images/{image_id}"),
    _rule("delete_image", base.ADMIN_OR_PROJECT_MEMBER, "Delete an image.",
          "DELETE", "/v2/images/{image_id}"),
    _rule("delete_deactivated_image", base.ADMIN_OR_PROJECT_MEMBER,
          "Delete an image that is deactivated. The default allows whoever may delete "
          "the image; set it to role:admin to keep deactivated images (and their data) "
          "for an investigation.", "DELETE", "/v2/images/{image_id}"),
    _rule("publicize_image", base.ADMIN,
          "Make an image public (visible to every project).",
          "PATCH", "/v2/images/{image_id}"),
    _rule("communitize_image", base.ADMIN_OR_PROJECT_MEMBER,
          "Make an image community (listed on request for every project).",
          "PATCH", "/v2/images/{image_id}"),
    _rule("upload_image", base.ADMIN_OR_PROJECT_MEMBER, "Upload image data.",
          "PUT", "/v2/images/{image_id}/file"),
    _rule("download_image", base.ADMIN_OR_IMAGE_READER, "Download image data.",
          "GET", "/v2/images/{image_id}/file"),
    _rule("deactivate", base.ADMIN_OR_PROJECT_MEMBER, "Deactivate an image.",
          "POST", "/v2/images/{image_id}/actions/deactivate"),
    _rule("reactivate", base.ADMIN_OR_PROJECT_MEMBER, "Reactivate an image.",
          "POST", "/v2/images/{image_id}/actions/reactivate"),
]


def list_rules() -> list:
    """Image rules."""
    return rules
