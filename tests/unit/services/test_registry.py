"""The composition root builds each service once and wires them together."""

import glance.policy
from glance import store as image_store
from glance.db.sqlalchemy import api as db_api
from glance.services import registry


def test_one_set_of_services_per_process():
    assert registry.services() is registry.services()


def test_services_share_their_collaborators():
    services = registry.build()
    assert services.images.access is services.access
    assert services.image_data.access is services.access
    assert services.members.access is services.access
    assert services.cache.access is services.access
    assert services.locations.access is services.access
    assert services.imports.images is services.images
    assert services.imports.tasks is services.task_lifecycle
    assert services.locations.tasks is services.task_lifecycle
    assert services.tasks.lifecycle is services.task_lifecycle
    assert services.imports.discovery is services.discovery
    assert services.access.db is db_api and services.access.policy is glance.policy
    assert services.image_data.store is image_store


def test_the_tasks_api_runs_legacy_imports_and_cleans_up_image_imports():
    services = registry.build()
    kinds = services.tasks.task_types
    assert kinds["import"].run == services.imports.run_legacy_import
    assert kinds["import"].check_input == services.imports.check_legacy_input
    assert kinds["api_image_import"].run is None
    assert kinds["api_image_import"].clean_up == services.imports.clean_up_interrupted


def test_build_takes_other_collaborators():
    class Enforcer:
        pass

    enforcer = Enforcer()
    services = registry.build(enforcer=enforcer)
    assert services.access.policy is enforcer
    assert services.tasks.policy is enforcer
    assert services.discovery.policy is enforcer
    assert services.metadefs.policy is enforcer
