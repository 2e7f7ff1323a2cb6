"""Which images a caller may see, as SQL conditions on ``images``: the owner,
public and community images, members (with hierarchical image access, the
members covering the caller's Keystone subtree or domain), and what a list call
adds for the visibility it asks for."""

import sqlalchemy as sa

from glance.db.sqlalchemy import member_api
from glance.db.sqlalchemy.models import Image, ImageMember


def _member_exists(owner: str, member_status: str | None,
                   lineage=None) -> sa.ColumnElement:
    conditions = [ImageMember.image_id == Image.id, ImageMember.deleted.is_(False),
                  member_api.covers(owner, lineage)]
    if member_status and member_status != "all":
        conditions.append(ImageMember.status == member_status)
    return sa.exists().where(*conditions)


PUBLIC_OR_COMMUNITY = Image.visibility.in_(("public", "community"))


def project_can_see(owner, member_status: str | None = None,
                    lineage=None) -> sa.ColumnElement:
    """What a project (a value or a bind parameter) may see: public, community, its
    own images and those shared with it (or, with ``lineage``, with its subtree
    or domain)."""
    return sa.or_(PUBLIC_OR_COMMUNITY, Image.owner == owner,
                  sa.and_(Image.visibility == "shared",
                          _member_exists(owner, member_status, lineage)))


def can_see(context, member_status: str | None = None) -> sa.ColumnElement:
    """Who may see an image at all (show, download): owner, members, public/community."""
    if context.is_admin:
        return sa.true()
    if context.owner is None:
        return PUBLIC_OR_COMMUNITY
    return project_can_see(context.owner, member_status, lineage(context))


def lineage(context):
    """The caller's Keystone parents and domain (hierarchical image access), or None."""
    return getattr(context, "project_lineage", None)


def listing_conditions(context, visibility: str | None,
                        member_status: str) -> list[sa.ColumnElement]:
    """Conditions that decide which visible images a list call returns.

    Each is ``can_see`` and the visibility asked for (by default: no community
    image but the caller's own), written as what is left of that conjunction once
    simplified, so that the planner sees ``visibility = X`` plus, at most, the
    owner and membership test it needs (and can walk an index on visibility).
    """
    owner = context.owner
    if visibility == "all":
        return [can_see(context, member_status)]
    if visibility is not None:
        return [Image.visibility == visibility,
                *_visible_of_one_kind(context, visibility, member_status)]
    if owner is None:
        return [Image.visibility != "community" if context.is_admin
                else Image.visibility == "public"]
    if context.is_admin:
        return [sa.or_(Image.visibility != "community", Image.owner == owner)]
    return [sa.or_(Image.visibility == "public", Image.owner == owner,
                   sa.and_(Image.visibility == "shared",
                           _member_exists(owner, member_status, lineage(context))))]


def _visible_of_one_kind(context, visibility: str,
                         member_status: str) -> list[sa.ColumnElement]:
    """``can_see(context)`` for the images whose visibility is ``visibility``."""
    if context.is_admin or visibility in ("public", "community"):
        return []
    if context.owner is None:
        return [sa.false()]
    if visibility == "shared":
        return [sa.or_(Image.owner == context.owner,
                       _member_exists(context.owner, member_status, lineage(context)))]
    return [Image.owner == context.owner]  # private (or any other value): the owner's
