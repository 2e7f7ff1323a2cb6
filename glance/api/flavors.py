"""Paste files in OpenStack Glance's style: its composite factories, and the
start-up check of which application ``[paste_deploy] flavor`` loads.

Glance's stock ``glance-api-paste.ini`` defines one application per flavor,
``glance-api-<flavor>`` (``glance-api`` when the flavor is unset), each a urlmap
(:func:`root_app_factory`) over the composite ``api``, whose
:func:`pipeline_factory` picks the pipeline named like the flavor
(``default`` when unset). glance's own file has one ``glance-api`` for all of
its flavors (:data:`glance.conf.paste.OWN_FLAVORS`).

:func:`check` walks the file without building anything, so a flavor the file
cannot serve is a one-line error before any worker starts.
"""

import configparser
from collections.abc import Iterator

from oslo_config import cfg
from oslo_middleware import request_id
from paste import urlmap
from paste.deploy import loadwsgi

from glance import image_cache
from glance.api.middleware import auth, catch_errors
from glance.api.middleware import range as range_filter
from glance.conf import paste as paste_conf
from glance.conf import validate

CONF = cfg.CONF
APP = "glance-api"
# Our development flavor, offered with a Glance-style file that lacks it: the
# file's keystone pipeline with its auth_token filter replaced by ours, which
# trusts the identity headers (Glance itself refuses to start with it).
NOAUTH, KEYSTONE, AUTHTOKEN = "noauth", "keystone", "authtoken"


class PasteConfigError(validate.ConfigError):
    """The paste file cannot serve the configuration (a start-up error, one line)."""


def pipeline_key(flavor: str | None) -> str:
    """The pipeline of Glance's ``[composite:api]`` that ``flavor`` selects."""
    return flavor or "default"


def pipeline_names(local_conf: dict, flavor: str | None) -> list[str]:
    """The filter and application names of the pipeline ``flavor`` selects.

    ``noauth`` on a composite without such a pipeline is its ``keystone`` pipeline,
    where :data:`AUTHTOKEN` then stands for our header-trusting filter.
    """
    key = pipeline_key(flavor)
    if key not in local_conf and key == NOAUTH and KEYSTONE in local_conf:
        key = KEYSTONE
    if key not in local_conf:
        raise PasteConfigError(f"the paste composite has no pipeline {key!r}")
    return local_conf[key].split()


def _ours_instead(name: str, flavor: str | None, local_conf: dict) -> bool:
    """Whether pipeline entry ``name`` is replaced by our noauth filter."""
    return (name == AUTHTOKEN and pipeline_key(flavor) == NOAUTH
            and NOAUTH not in local_conf)


def root_app_factory(loader, global_conf: dict, **local_conf):
    """Glance's ``glance.api:root_app_factory``: a urlmap of path prefixes to apps."""
    return urlmap.urlmap_factory(loader, global_conf, **local_conf)


def pipeline_factory(loader, global_conf: dict, **local_conf):
    """Glance's ``glance.api:pipeline_factory``: the pipeline named by the flavor.

    What our own pipeline adds to Glance's is put around it here: request ids
    and the last-resort error catcher outside, the Content-Range translation
    just before the application. Downloads go through the image cache only
    when the pipeline has Glance's ``cache`` filter (which switches it back on).
    """
    flavor = CONF.paste_deploy.flavor
    *filter_names, app_name = pipeline_names(local_conf, flavor)
    image_cache.cache_downloads(False)
    app = range_filter.RangeHeaderFilter(loader.get_app(app_name, global_conf=global_conf))
    for name in reversed(filter_names):
        if _ours_instead(name, flavor, local_conf):
            app = auth.filter_factory(global_conf)(app)
        else:
            app = loader.get_filter(name, global_conf=global_conf)(app)
    return request_id.RequestId(catch_errors.CatchErrors(app))


def _defines(path: str, name: str) -> bool:
    try:
        loadwsgi.loadcontext(loadwsgi.APP, f"config:{path}", name=name)
    except LookupError:
        return False
    return True


def app_name(path: str, flavor: str | None) -> str:
    """The application of the paste file at ``path`` that serves ``flavor``."""
    if not flavor:
        return APP
    named = f"{APP}-{flavor}"
    if _defines(path, named):
        return named
    if flavor in paste_conf.OWN_FLAVORS:
        return APP
    raise PasteConfigError(f"paste file {path} has no app {named}")


def _contexts(context, flavor: str | None) -> Iterator:
    """``context`` and every context it builds: urlmap entries, pipeline parts."""
    yield context
    loader, global_conf = context.loader, context.global_conf
    children: list = []
    if context.object in (root_app_factory, urlmap.urlmap_factory):
        children = [loader.get_context(loadwsgi.APP, value.strip(), global_conf)
                    for key, value in context.local_conf.items()
                    if key != "not_found_app"]
    elif context.object is pipeline_factory:
        *filters, app = pipeline_names(context.local_conf, flavor)
        children = [loader.get_context(loadwsgi.FILTER, name, global_conf)
                    for name in filters
                    if not _ours_instead(name, flavor, context.local_conf)]
        children.append(loader.get_context(loadwsgi.APP, app, global_conf))
    elif context.object_type is loadwsgi.PIPELINE:
        children = [*context.filter_contexts, context.app_context]
    for child in children:
        yield from _contexts(child, flavor)


def check(path: str, flavor: str | None) -> str:
    """The application name for ``flavor``, after checking that the paste file
    defines everything it uses and that our filters in it are configured
    (a filter class's ``check_config()``); else PasteConfigError, one line
    naming the flavor and the file."""
    where = f"[paste_deploy] flavor = {flavor or ''}"
    try:
        name = app_name(path, flavor)
    except PasteConfigError as err:
        raise PasteConfigError(f"{where}: {err}") from None
    except (configparser.Error, LookupError, ImportError, ValueError, OSError) as err:
        raise PasteConfigError(f"{where}: paste file {path}: {validate.one_line(err)}") from None
    try:
        root = loadwsgi.loadcontext(loadwsgi.APP, f"config:{path}", name=name)
        for context in _contexts(root, flavor):
            owner = getattr(context.object, "__self__", None)
            if hasattr(owner, "check_config"):
                owner.check_config()
    except (PasteConfigError, configparser.Error, LookupError, ImportError,
            AttributeError, ValueError, OSError) as err:
        raise PasteConfigError(f"{where}: paste file {path}: {validate.one_line(err)}") from None
    return name

