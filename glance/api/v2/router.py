"""The v2 route table: path, HTTP method -> action, resource. 405s come for free."""

from oslo_log import log as logging

from glance import image_cache
from glance.api import wsgi
from glance.api.v2 import (
    cache,
    discovery,
    image_actions,
    image_data,
    image_import,
    image_members,
    image_tags,
    images,
    locations,
    schemas,
    tasks,
)
from glance.api.v2.metadefs import router as metadefs_router
from glance.services import peer_recovery, registry

LOG = logging.getLogger(__name__)


def route_table(services: registry.Services) -> list[wsgi.Route]:
    """Every v2 route, each resource handed the services it calls."""
    images_resource = images.create_resource(services.images, services.discovery)
    tags_resource = image_tags.create_resource(services.images)
    schemas_resource = schemas.create_resource()
    data_resource = image_data.create_resource(services.image_data, services.discovery)
    actions_resource = image_actions.create_resource(services.image_data)
    members_resource = image_members.create_resource(services.members)
    tasks_resource = tasks.create_resource(services.tasks, services.access)
    import_resource = image_import.create_resource(services.imports, services.discovery)
    discovery_resource = discovery.create_resource(services.discovery)
    locations_resource = locations.create_resource(services.locations)
    cache_resource = cache.create_resource(services.cache)
    return [
        wsgi.Route("/v2/schemas/{name:.*?}", schemas_resource, {"GET": "show"}),
        wsgi.Route("/v2/images", images_resource, {"GET": "index", "POST": "create"}),
        wsgi.Route("/v2/images/{image_id}", images_resource,
                   {"GET": "show", "PATCH": "update", "DELETE": "delete"}),
        wsgi.Route("/v2/images/{image_id}/tags/{tag_value}", tags_resource,
                   {"PUT": "update", "DELETE": "delete"}),
        wsgi.Route("/v2/images/{image_id}/file", data_resource,
                   {"GET": "download", "PUT": "upload"}),
        wsgi.Route("/v2/images/{image_id}/actions/deactivate", actions_resource,
                   {"POST": "deactivate"}),
        wsgi.Route("/v2/images/{image_id}/actions/reactivate", actions_resource,
                   {"POST": "reactivate"}),
        wsgi.Route("/v2/images/{image_id}/members", members_resource,
                   {"GET": "index", "POST": "create"}),
        wsgi.Route("/v2/images/{image_id}/members/{member_id}", members_resource,
                   {"GET": "show", "PUT": "update", "DELETE": "delete"}),
        wsgi.Route("/v2/images/{image_id}/locations", locations_resource,
                   {"POST": "add_location", "GET": "get_locations"}),
        wsgi.Route("/v2/stores/{store_id}/{image_id}", locations_resource,
                   {"DELETE": "delete_from_store"}),
        wsgi.Route("/v2/images/{image_id}/stage", import_resource, {"PUT": "stage"}),
        wsgi.Route("/v2/images/{image_id}/import", import_resource,
                   {"POST": "import_image"}),
        wsgi.Route("/v2/images/{image_id}/tasks", tasks_resource, {"GET": "image_tasks"}),
        wsgi.Route("/v2/tasks", tasks_resource, {"GET": "index", "POST": "create"}),
        wsgi.Route("/v2/tasks/{task_id}", tasks_resource, {"GET": "show"}),
        wsgi.Route("/v2/info/import", discovery_resource, {"GET": "get_import_info"}),
        wsgi.Route("/v2/info/stores", discovery_resource, {"GET": "get_stores"}),
        wsgi.Route("/v2/info/stores/detail", discovery_resource,
                   {"GET": "get_stores_detail"}),
        wsgi.Route("/v2/info/usage", discovery_resource, {"GET": "get_usage"}),
        wsgi.Route("/v2/cache", cache_resource, {"GET": "list", "DELETE": "clear"}),
        wsgi.Route("/v2/cache/clean", cache_resource, {"POST": "clean"}),
        wsgi.Route("/v2/cache/prune", cache_resource, {"POST": "prune"}),
        wsgi.Route("/v2/cache/nodes/{image_id}", cache_resource, {"GET": "nodes"}),
        wsgi.Route("/v2/cache/{image_id}", cache_resource,
                   {"PUT": "queue", "DELETE": "delete"}),
        *metadefs_router.route_table(services.metadefs),
    ]


def recover_interrupted_tasks(services: registry.Services) -> None:
    """Fail the tasks a stopped process left running (once per process, at start-up)."""
    try:
        services.tasks.recover_interrupted()
    except Exception:  # noqa: BLE001 - never keep the API from starting
        LOG.exception("Could not check for interrupted tasks")


_defer_process_jobs = False


def defer_process_jobs() -> None:
    """Build the application without starting this process's jobs: the standalone
    master builds it before forking (no thread may run across a fork), and each
    worker calls :func:`start_process_jobs` once forked."""
    global _defer_process_jobs  # noqa: PLW0603 - one switch per process
    _defer_process_jobs = True


def start_process_jobs() -> None:
    """The threads every serving process runs: the image cache's prefetcher and
    the peer-upload watcher."""
    image_cache.start()
    peer_recovery.start_watcher()


MOUNT = "/v2"


def unmount(environ: dict) -> None:
    """Put a ``/v2`` urlmap mount point back into PATH_INFO.

    glance's own paste file runs this app at the root (PATH_INFO ``/v2/...``);
    OpenStack Glance's mounts it at ``/v2`` (SCRIPT_NAME ``.../v2``, PATH_INFO
    ``/images``). Both end up as the former, so routes and links are the same.
    """
    script = environ.get("SCRIPT_NAME", "")
    if script.endswith(MOUNT):
        environ["SCRIPT_NAME"] = script[:-len(MOUNT)]
        environ["PATH_INFO"] = MOUNT + environ.get("PATH_INFO", "")


class API(wsgi.Router):
    """The /v2 application, at the root or mounted at ``/v2``."""

    @classmethod
    def factory(cls, global_conf: dict, **local_conf) -> "API":
        services = registry.services()
        recover_interrupted_tasks(services)
        if not _defer_process_jobs:
            start_process_jobs()
        return cls(route_table(services))

    def __call__(self, environ: dict, start_response):
        unmount(environ)
        return super().__call__(environ, start_response)
