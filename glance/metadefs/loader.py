"""Load the metadata definitions files into the catalog, empty it, export it.

``glance-manage db load_metadefs / unload_metadefs / export_metadefs`` call
``load``, ``unload`` and ``export``. One file holds one namespace. A file is
checked whole before anything of it is written, and written in one
transaction: a malformed file loads nothing and is reported by name with the
problem; the other files still load. Export writes files that load back into
the identical catalog.
"""

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oslo_log import log as logging

from glance import exception
from glance.db.sqlalchemy import metadef_api
from glance.domain import metadef as rules

LOG = logging.getLogger(__name__)

_SOURCE_ETC = Path(__file__).resolve().parents[2] / "etc" / "metadefs"
# Defaults for what a definitions file leaves out.
FILE_DEFAULTS = {"default_owner": "admin", "default_visibility": "public",
                 "default_protected": True}


@dataclass
class LoadReport:
    """What ``load`` did, namespace by namespace, and the files it refused; the
    counts are of what the written (created, merged, overwritten) files hold."""

    path: str = ""
    created: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    objects: int = 0
    properties: int = 0
    tags: int = 0

    def count(self, doc: dict[str, Any]) -> None:
        """Add one written namespace document's objects, properties and tags."""
        self.objects += len(doc["objects"])
        self.properties += len(doc["properties"]) + sum(
            len(obj["properties"]) for obj in doc["objects"])
        self.tags += len(doc["tags"])

    def summary(self) -> str:
        """One line for the operator: how many of what, from where."""
        written = len(self.created) + len(self.merged) + len(self.overwritten)
        line = (f"Loaded {written} namespace(s) from {self.path} ({len(self.created)} "
                f"created, {len(self.merged)} merged, {len(self.overwritten)} "
                f"overwritten, {len(self.skipped)} skipped as already present): "
                f"{self.objects} object(s), {self.properties} propert"
                f"{'y' if self.properties == 1 else 'ies'} (in namespaces and objects), "
                f"{self.tags} tag(s)")
        if self.skipped and not written:
            line += "; use --merge to update the namespaces already present"
        if self.errors:
            line += f"; {len(self.errors)} file(s) not loaded"
        return line


def default_path() -> str:
    """The shipped definitions: the source tree's, else the installed ones."""
    for candidate in (_SOURCE_ETC, Path(sys.prefix) / "etc" / "glance" / "metadefs",
                      Path("/etc/glance/metadefs")):
        if candidate.is_dir():
            return str(candidate)
    return str(_SOURCE_ETC)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key '{key}' appears twice in one object")
        result[key] = value
    return result


def read_file(path: Path) -> dict[str, Any]:
    """Parse and check one definitions file; MetadefInvalid names the problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"),
                         object_pairs_hook=_no_duplicate_keys)
    except (OSError, UnicodeDecodeError) as err:
        raise exception.MetadefInvalid(reason=f"cannot read the file: {err}") from err
    except ValueError as err:
        raise exception.MetadefInvalid(reason=f"not valid JSON: {err}") from err
    return rules.clean_namespace_document(raw, **FILE_DEFAULTS)


def _files(path: str | None) -> list[Path]:
    root = Path(path or default_path())
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise exception.MetadefLoadError(reason=f"{root} is not a file or a directory")
    return sorted(p for p in root.iterdir() if p.suffix == ".json" and p.is_file())


def load(path: str | None = None, merge: bool = False, prefer_new: bool = False,
         overwrite: bool = False) -> LoadReport:
    """Load every ``*.json`` file of ``path`` (a directory or one file).

    An existing namespace is skipped unless ``merge``; when merging, ``prefer_new``
    lets the file's values win over the catalog's, and ``overwrite`` replaces the
    namespace's contents with the file's. Raises MetadefLoadError after loading the
    good files when some files were refused.
    """
    if (prefer_new or overwrite) and not merge:
        raise exception.MetadefLoadError(
            reason="--prefer_new and --overwrite only make sense with --merge")
    root = Path(path or default_path())
    report = LoadReport(path=str(root))
    for file_path in _files(str(root)):
        try:
            doc = read_file(file_path)
            outcome = metadef_api.import_namespace(doc, merge=merge, prefer_new=prefer_new,
                                                   overwrite=overwrite)
        except exception.GlanceException as err:
            report.errors.append(f"{file_path.name}: {err}")
            LOG.error("Not loaded: %s: %s", file_path, err)
            continue
        getattr(report, outcome).append(doc["namespace"])
        if outcome != "skipped":
            report.count(doc)
        LOG.info("Namespace %s from %s: %s", doc["namespace"], file_path.name, outcome)
    if report.errors:
        error = exception.MetadefLoadError(
            reason=f"{len(report.errors)} file(s) not loaded: " + "; ".join(report.errors))
        error.report = report  # what did load, for glance-manage's summary
        raise error
    return report


def unload() -> int:
    """Empty the catalog (the standard resource types stay); returns the number of
    namespaces removed."""
    return metadef_api.delete_all()


def namespace_document(ns: dict[str, Any]) -> dict[str, Any]:
    """A catalog namespace in the definitions file layout."""
    doc: dict[str, Any] = {"namespace": ns["namespace"]}
    for key in ("display_name", "description"):
        if ns.get(key) is not None:
            doc[key] = ns[key]
    doc["visibility"] = ns["visibility"]
    doc["protected"] = ns["protected"]
    if ns.get("owner") is not None:
        doc["owner"] = ns["owner"]
    doc["resource_type_associations"] = [
        {key: assoc[key] for key in ("name", "prefix", "properties_target")
         if assoc.get(key) is not None}
        for assoc in ns["resource_type_associations"]]
    doc["properties"] = {prop["name"]: prop["schema"] for prop in ns["properties"]}
    objects = []
    for obj in ns["objects"]:
        item: dict[str, Any] = {"name": obj["name"]}
        if obj.get("description") is not None:
            item["description"] = obj["description"]
        if obj["required"]:
            item["required"] = obj["required"]
        item["properties"] = obj["properties"]
        objects.append(item)
    doc["objects"] = objects
    if ns["tags"]:
        doc["tags"] = [{"name": tag["name"]} for tag in ns["tags"]]
    return doc


def _file_name(namespace: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", namespace).strip("-") or "namespace"
    name, counter = f"{base}.json", 1
    while name in taken:
        counter += 1
        name = f"{base}-{counter}.json"
    return name


def _existing_files(root: Path) -> dict[str, str]:
    """namespace -> file name, for the definitions files already in ``root``."""
    found: dict[str, str] = {}
    for file_path in sorted(root.glob("*.json")):
        try:
            name = json.loads(file_path.read_text(encoding="utf-8")).get("namespace")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(name, str):
            found.setdefault(name, file_path.name)
    return found


def export(path: str | None = None) -> list[str]:
    """Write one file per namespace into ``path``; returns the files written.

    A namespace that already has a file there is written over that file, so that
    exporting into the shipped directory keeps one file per namespace.
    """
    root = Path(path or default_path())
    root.mkdir(parents=True, exist_ok=True)
    existing = _existing_files(root)
    taken = set(existing.values())
    written = []
    for ns in metadef_api.export_all():
        file_name = existing.get(ns["namespace"])
        if file_name is None:
            file_name = _file_name(ns["namespace"], taken)
            taken.add(file_name)
        target = root / file_name
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(namespace_document(ns), indent=4, ensure_ascii=False)
                       + "\n", encoding="utf-8")
        os.replace(tmp, target)
        written.append(str(target))
    return written
