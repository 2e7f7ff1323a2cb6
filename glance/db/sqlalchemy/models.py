"""SQLAlchemy declarative models of the image tables.

Rows are soft-deleted (``deleted``/``deleted_at``) when their image is deleted;
an image row itself is never removed by the API, so its id is never handed out
again (OSSN-0075).
"""

from datetime import datetime
from typing import Any

from oslo_serialization import jsonutils
from oslo_utils import timeutils
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    cast,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement


def _now() -> datetime:
    return timeutils.utcnow()


class Base(DeclarativeBase):
    """Declarative base of every glance table."""


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=_now)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, onupdate=_now)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Image(TimestampMixin, Base):
    __tablename__ = "images"
    __table_args__ = (
        # The default listing order, for live rows: an index scan, no sort.
        Index("ix_images_deleted_created_at_id", "deleted", "created_at", "id"),
        # Lists by visibility (and one owner's), and sorted by name (migration 0008).
        Index("ix_images_deleted_visibility_created_at_id",
              "deleted", "visibility", "created_at", "id"),
        Index("ix_images_deleted_visibility_owner_created_at_id",
              "deleted", "visibility", "owner", "created_at", "id"),
        Index("ix_images_deleted_name_created_at_id", "deleted", "name", "created_at", "id"),
        Index("ix_images_updated_at", "updated_at"),
        Index("ix_images_owner", "owner"),
        Index("ix_images_status", "status"),
        Index("ix_images_checksum", "checksum"),
        Index("ix_images_os_hash_value", "os_hash_value"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    visibility: Mapped[str] = mapped_column(String(9), nullable=False, default="shared")
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_disk: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    owner: Mapped[str | None] = mapped_column(String(255))
    protected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    properties: Mapped[list["ImageProperty"]] = relationship(
        back_populates="image", cascade="all, delete-orphan", lazy="raise")
    tags: Mapped[list["ImageTag"]] = relationship(
        back_populates="image", cascade="all, delete-orphan", lazy="raise")
    locations: Mapped[list["ImageLocation"]] = relationship(
        back_populates="image", cascade="all, delete-orphan", lazy="raise",
        order_by="ImageLocation.id")
    members: Mapped[list["ImageMember"]] = relationship(
        back_populates="image", cascade="all, delete-orphan", lazy="raise")


class ImageProperty(TimestampMixin, Base):
    __tablename__ = "image_properties"
    __table_args__ = (
        UniqueConstraint("image_id", "name", name="uq_image_properties_image_id_name"),
        Index("ix_image_properties_name", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    value: Mapped[str | None] = mapped_column(Text)

    image: Mapped[Image] = relationship(back_populates="properties")


class ImageTag(TimestampMixin, Base):
    __tablename__ = "image_tags"
    __table_args__ = (
        UniqueConstraint("image_id", "value", name="uq_image_tags_image_id_value"),
        Index("ix_image_tags_value", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id"), nullable=False)
    value: Mapped[str] = mapped_column(String(255), nullable=False)

    image: Mapped[Image] = relationship(back_populates="tags")


LOCATION_JSON = JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True),
                                                    "postgresql")


class ImageLocation(TimestampMixin, Base):
    __tablename__ = "image_locations"
    __table_args__ = (Index("ix_image_locations_image_id", "image_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id"), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    # Migration 0004 (expand/migrate/contract) moved the JSON text column
    # ``meta_data`` into this native JSON column; see doc/source/admin/upgrades.rst.
    location_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", LOCATION_JSON)
    status: Mapped[str] = mapped_column(String(30), nullable=False, default="active")

    image: Mapped[Image] = relationship(back_populates="locations")

    @hybrid_property
    def meta_data(self) -> str | None:
        """The metadata as JSON text: the shape of the column before migration 0004.

        Kept so that code written against the text column keeps working, in
        Python and in SQL (selects, filters and UPDATE ... SET).
        """
        if self.location_metadata is None:
            return None
        return jsonutils.dumps(self.location_metadata)

    @meta_data.inplace.setter
    def _meta_data_setter(self, text: str | None) -> None:
        self.location_metadata = jsonutils.loads(text) if text else None

    @meta_data.inplace.expression
    @classmethod
    def _meta_data_expression(cls) -> ColumnElement[str | None]:
        return cast(cls.location_metadata, Text)

    @meta_data.inplace.update_expression
    @classmethod
    def _meta_data_update(cls, text: str | None) -> list[tuple[Any, Any]]:
        return [(cls.location_metadata, jsonutils.loads(text) if text else None)]


class ImageMember(TimestampMixin, Base):
    __tablename__ = "image_members"
    __table_args__ = (
        UniqueConstraint("image_id", "member", name="uq_image_members_image_id_member"),
        Index("ix_image_members_member", "member"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id"), nullable=False)
    member: Mapped[str] = mapped_column(String(255), nullable=False)
    can_share: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    # NULL: the project ``member`` only; "subtree": it and every project below it in
    # Keystone; "domain": every project of the domain ``member`` (migration 0009).
    scope: Mapped[str | None] = mapped_column(String(16), nullable=True)

    image: Mapped[Image] = relationship(back_populates="members")


# -- metadefs
# The metadata definitions catalog. Rows are removed for real (no soft delete):
# definitions carry no data whose identifiers must stay reserved.


class MetadefTimestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=_now)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, onupdate=_now)


class MetadefNamespace(MetadefTimestamps, Base):
    __tablename__ = "metadef_namespaces"
    __table_args__ = (
        UniqueConstraint("namespace", name="uq_metadef_namespaces_namespace"),
        Index("ix_metadef_namespaces_owner", "owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32), nullable=False, default="private")
    protected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    owner: Mapped[str | None] = mapped_column(String(255))


class MetadefObject(MetadefTimestamps, Base):
    __tablename__ = "metadef_objects"
    __table_args__ = (
        UniqueConstraint("namespace_id", "name", name="uq_metadef_objects_namespace_id_name"),
        Index("ix_metadef_objects_name", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    required: Mapped[str | None] = mapped_column(Text)
    json_schema: Mapped[str] = mapped_column(Text, nullable=False)


class MetadefProperty(MetadefTimestamps, Base):
    __tablename__ = "metadef_properties"
    __table_args__ = (
        UniqueConstraint("namespace_id", "name",
                         name="uq_metadef_properties_namespace_id_name"),
        Index("ix_metadef_properties_name", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    json_schema: Mapped[str] = mapped_column(Text, nullable=False)


class MetadefTag(MetadefTimestamps, Base):
    __tablename__ = "metadef_tags"
    __table_args__ = (
        UniqueConstraint("namespace_id", "name", name="uq_metadef_tags_namespace_id_name"),
        Index("ix_metadef_tags_name", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)


class MetadefResourceType(MetadefTimestamps, Base):
    __tablename__ = "metadef_resource_types"
    __table_args__ = (
        UniqueConstraint("name", name="uq_metadef_resource_types_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    protected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class MetadefNamespaceResourceType(MetadefTimestamps, Base):
    __tablename__ = "metadef_namespace_resource_types"
    __table_args__ = (
        Index("ix_metadef_ns_res_types_namespace_id", "namespace_id"),
    )

    resource_type_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("metadef_resource_types.id"), primary_key=True)
    namespace_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), primary_key=True)
    properties_target: Mapped[str | None] = mapped_column(String(80))
    prefix: Mapped[str | None] = mapped_column(String(80))


class PurgedImageId(Base):
    """Tombstone of an image row removed by ``glance-manage db purge_images_table``.

    Its id stays taken for ever, so no new image can reuse it (OSSN-0075).
    """

    __tablename__ = "purged_image_ids"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    purged_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=_now)


# -- tasks
# Asynchronous operations (legacy ``import`` tasks and the ``api_image_import``
# tasks of interoperable import). A task whose ``expires_at`` has passed is
# soft-deleted; ``glance-manage db purge`` removes the rows later.


class Task(TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # The default listing order of live tasks, and the expiry sweep.
        Index("ix_tasks_deleted_created_at_id", "deleted", "created_at", "id"),
        Index("ix_tasks_deleted_expires_at", "deleted", "expires_at"),
        Index("ix_tasks_owner", "owner"),
        Index("ix_tasks_status", "status"),
        Index("ix_tasks_type", "type"),
        Index("ix_tasks_image_id", "image_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(30), nullable=False)
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    owner: Mapped[str] = mapped_column(String(255), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    image_id: Mapped[str | None] = mapped_column(String(36))
    request_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    # "host:pid" of the process running the task: lets a restarted process
    # fail the tasks a dead process left behind, and only those.
    runner: Mapped[str | None] = mapped_column(String(255))


class TaskInfo(Base):
    """A task's input, result and message (large JSON text, read on show only)."""

    __tablename__ = "task_info"

    task_id: Mapped[str] = mapped_column(String(36), ForeignKey("tasks.id"),
                                         primary_key=True)
    input: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)


# -- the shared image-cache index (migration 0006; OpenStack Glance's shape)
# One row per API node that caches images (its worker_self_reference_url), one row
# per image cached on a node, for the centralized_db cache driver.

_CACHE_ID = BigInteger().with_variant(Integer(), "sqlite")


class NodeReference(Base):
    __tablename__ = "node_reference"
    __table_args__ = (
        UniqueConstraint("node_reference_url", name="uq_node_reference_node_reference_url"),
    )

    node_reference_id: Mapped[int] = mapped_column(_CACHE_ID, primary_key=True,
                                                   autoincrement=True)
    node_reference_url: Mapped[str] = mapped_column(String(255), nullable=False)


class CachedImage(Base):
    __tablename__ = "cached_images"
    __table_args__ = (
        UniqueConstraint("image_id", "node_reference_id",
                         name="ix_cached_images_image_id_node_reference_id"),
    )

    id: Mapped[int] = mapped_column(_CACHE_ID, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(String(36), nullable=False)
    last_accessed: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_modified: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hits: Mapped[int] = mapped_column(Integer, nullable=False)
    checksum: Mapped[str | None] = mapped_column(String(32))
    node_reference_id: Mapped[int] = mapped_column(
        _CACHE_ID, ForeignKey("node_reference.node_reference_id"), nullable=False)
