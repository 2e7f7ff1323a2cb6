"""The composition root: every service built once, wired to its collaborators.

``build`` is the one place that constructs services; the v2 router factory and
the legacy cache-management filter take theirs from ``services()`` (built on first
use, then shared by the whole process), and tests call ``build`` with their own
repository, enforcer or store. The services hold no per-request state, so one
set serves every thread of a process.

The dependency graph, read downwards (nothing imports upwards or sideways into a
cycle; the layering test of the unit tier checks)::

    tasks ─────────────► image_import ─► images ─► location_patch, data_removal
      │                      │  │  └──────────────► discovery
      └► task_lifecycle ◄────┘  └► access ◄─ image_data, members, cache, locations
             └► background
"""

import threading
from dataclasses import dataclass

from glance import image_cache, keystone_limits, policy
from glance import property_protection as protection
from glance import store as image_store
from glance.db.sqlalchemy import api as db_api
from glance.db.sqlalchemy import metadef_api, task_api
from glance.encryption_keys import EncryptionKeys
from glance.services.access import ImageAccess
from glance.services.cache import CacheService
from glance.services.data_removal import DataRemoval
from glance.services.discovery import DiscoveryService
from glance.services.image_data import ImageDataService
from glance.services.image_import import ImportService
from glance.services.images import ImageService
from glance.services.locations import LocationService
from glance.services.members import MemberService
from glance.services.metadefs import MetadefService
from glance.services.task_lifecycle import TaskLifecycle
from glance.services.tasks import TaskService, TaskType


@dataclass(frozen=True)
class Services:
    """One of each service, as the controllers receive them."""

    access: ImageAccess
    images: ImageService
    image_data: ImageDataService
    imports: ImportService
    task_lifecycle: TaskLifecycle
    tasks: TaskService
    members: MemberService
    locations: LocationService
    cache: CacheService
    discovery: DiscoveryService
    metadefs: MetadefService


def build(db=db_api, task_db=task_api, metadef_db=metadef_api, enforcer=policy,
          store=image_store, cache=image_cache) -> Services:
    """Every service, wired together (defaults: the process's repository, policy
    enforcer, store and image cache modules)."""
    access = ImageAccess(db, enforcer)
    limits = keystone_limits.KeystoneLimits()
    discovery = DiscoveryService(enforcer, store, limits)
    images = ImageService(db, enforcer, access, DataRemoval(db, store),
                          protection.Protections(), store, limits, EncryptionKeys())
    lifecycle = TaskLifecycle(task_db)
    imports = ImportService(db, access, lifecycle, discovery, images, store, limits)
    task_types = {
        "import": TaskType(run=imports.run_legacy_import,
                           check_input=imports.check_legacy_input,
                           clean_up=imports.clean_up_interrupted),
        "api_image_import": TaskType(clean_up=imports.clean_up_interrupted),
    }
    return Services(
        access=access,
        images=images,
        image_data=ImageDataService(db, access, store, cache, limits),
        imports=imports,
        task_lifecycle=lifecycle,
        tasks=TaskService(lifecycle, task_types, enforcer, task_db),
        members=MemberService(db, access),
        locations=LocationService(db, enforcer, access, lifecycle, store),
        cache=CacheService(enforcer, access, cache),
        discovery=discovery,
        metadefs=MetadefService(metadef_db, enforcer),
    )


_services: Services | None = None
_lock = threading.Lock()


def services() -> Services:
    """This process's services (built on first use; process-wide on purpose: every
    paste app and filter of the process shares them)."""
    global _services  # noqa: PLW0603 - process-wide on purpose, see the docstring
    with _lock:
        if _services is None:
            _services = build()
        return _services
