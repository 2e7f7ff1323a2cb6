"""glance.hierarchy: Keystone's parents_as_ids parsed, and the per-project cache."""

from keystoneauth1 import exceptions as ks_exceptions

from glance import hierarchy


def test_ancestor_ids_walk_the_nested_parents():
    parents = {"parent": {"grandparent": {"domain": None}}}
    assert hierarchy._ancestor_ids(parents) == ["parent", "grandparent", "domain"]
    assert hierarchy._ancestor_ids(None) == []
    assert hierarchy._ancestor_ids({}) == []


class Source:
    """Counts the lookups; answers from a table (or fails)."""

    def __init__(self) -> None:
        self.calls = 0
        self.parent = "p1"
        self.fail = False

    def lineage(self, project_id):
        self.calls += 1
        if self.fail:
            raise ks_exceptions.ConnectFailure("keystone down")
        return hierarchy.Lineage(project_id, "d1", (self.parent,))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cache_reuses_a_lineage_for_the_ttl():
    source, clock = Source(), Clock()
    cache = hierarchy.LineageCache(source, ttl=60, clock=clock)
    assert cache.get("p").ancestors == ("p1",)
    source.parent = "p2"
    clock.now += 59
    assert cache.get("p").ancestors == ("p1",) and source.calls == 1
    clock.now += 2
    assert cache.get("p").ancestors == ("p2",) and source.calls == 2


def test_ttl_zero_reads_every_time():
    source = Source()
    cache = hierarchy.LineageCache(source, ttl=0, clock=Clock())
    cache.get("p")
    cache.get("p")
    assert source.calls == 2


def test_keystone_failure_is_a_bare_lineage_and_not_cached():
    source = Source()
    source.fail = True
    cache = hierarchy.LineageCache(source, ttl=60, clock=Clock())
    assert cache.get("p") == hierarchy.Lineage("p", None)
    source.fail = False
    assert cache.get("p").domain_id == "d1" and source.calls == 2


def test_covering_ids():
    assert hierarchy.covering_ids(None) == ((), None)
    lineage = hierarchy.Lineage("p", "d", ("a", "b"))
    assert hierarchy.covering_ids(lineage) == (("p", "a", "b"), "d")
