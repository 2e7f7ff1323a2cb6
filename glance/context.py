"""The request context: who is calling, in which project, with which roles."""

from typing import Any

from oslo_context import context


class RequestContext(context.RequestContext):
    """An oslo.context RequestContext that knows which project owns new images."""

    def __init__(self, owner_is_tenant: bool = True,
                 service_catalog: list[dict[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner_is_tenant = owner_is_tenant
        # keystonemiddleware's X-Service-Catalog (multi-tenant Swift finds its
        # endpoint there); None when the request carried none.
        self.service_catalog = service_catalog
        # With hierarchical image access on: the caller's project's domain and
        # ancestors from Keystone (glance.hierarchy.Lineage), else None.
        self.project_lineage: Any = None

    @property
    def owner(self) -> str | None:
        """The project id (or user id) that owns what this caller creates."""
        return self.project_id if self.owner_is_tenant else self.user_id

    def to_policy_values(self) -> dict[str, Any]:
        values = super().to_policy_values()
        values["owner"] = self.owner
        return values
