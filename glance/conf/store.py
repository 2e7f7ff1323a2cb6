"""Image data storage options: the glance_store wiring and what glance adds to it.

Two ways to configure stores, as Glance operators do:

* single store (the default): ``[glance_store] stores`` / ``default_store`` and the
  driver options in ``[glance_store]`` (``filesystem_store_datadir`` ...);
* multi-store: ``[DEFAULT] enabled_backends = fs:file, web:http``, one section per
  store id with its driver options, and ``[glance_store] default_backend``.

The driver options belong to the glance_store library; this module registers them,
points the file store at ``$state_path/images`` by default, and owns glance's own
``enabled_backends``, ``delayed_delete`` and ``upload_chunk_size``.
"""

import logging

import glance_store
from glance_store import multi_backend
from oslo_config import cfg

DEFAULT_DATADIR = "$state_path/images"


class _DriverLoadNoise(logging.Filter):
    """Drop stevedore's "Could not load 'cinder'" errors.

    glance_store loads every installed driver (to register its options), and one
    whose library is absent (os-brick for cinder) is logged as an ERROR on each
    start, even though no store uses it; before logging is set up that goes to
    stderr. A store that *is* configured without its library stops start-up with
    one line instead (glance/conf/dependencies.py).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Could not load")


logging.getLogger("stevedore.extension").addFilter(_DriverLoadNoise())

opts = [
    cfg.DictOpt(
        "enabled_backends",
        help="""
Store identifiers and their store types, for multi-store deployments.

Each key is an identifier operators and users pick stores by (``fs``, ``ceph``);
each value is a glance_store driver type (``file``, ``http``, ``rbd``, ``swift``,
``s3``, ``cinder``, ``vmware``). Every identifier gets a config section of its
own for its driver options, and ``[glance_store] default_backend`` names the one
uploads go to.

Possible values:
    * A comma-separated list of ``id:type`` pairs, e.g. ``fs:file, web:http``
    * Unset: single-store mode (``[glance_store] stores`` / ``default_store``)

Related options:
    * [glance_store] default_backend
"""),
    cfg.BoolOpt(
        "delayed_delete",
        default=False,
        help="""
Keep the data of deleted images for a scrubber instead of removing it at once.

When on, deleting an image marks it and its locations ``pending_delete`` and
leaves the data in the store.
"""),
    cfg.IntOpt(
        "upload_chunk_size",
        default=1024 * 1024,
        min=4096,
        help="""
Bytes read from the client per step of an image upload. Each step is written to
the store while the checksum and the os_hash are computed on two other threads;
at most a few steps are in flight per upload.
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register glance's storage options and the single-store glance_store options."""
    conf.register_opts(opts)
    glance_store.register_opts(conf)
    conf.set_default("filesystem_store_datadir", DEFAULT_DATADIR, group="glance_store")


def register_backend_opts(conf: cfg.ConfigOpts) -> None:
    """Register the per-store sections of ``enabled_backends`` (after config load)."""
    multi_backend.register_store_opts(conf)
    for backend, store_type in (conf.enabled_backends or {}).items():
        if store_type != "file" or conf[backend].filesystem_store_datadirs:
            continue
        # glance_store later resets the per-store defaults to None (to fall back to
        # [backend_defaults]), so pin the resolved value as an override.
        conf.set_default("filesystem_store_datadir", DEFAULT_DATADIR, group=backend)
        conf.set_override("filesystem_store_datadir",
                          conf[backend].filesystem_store_datadir, group=backend)


def list_opts() -> list:
    """Options for the sample config generator (driver options come from glance_store)."""
    return [(None, opts)]
