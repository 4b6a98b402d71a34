"""The API server's cache of rendered notebooks: bounded by the total size of what it holds."""

from __future__ import annotations

from airflow_jupyter_provider.plugins.sized_lru import SizedLru


def test_the_least_recently_used_go_first_once_the_total_passes_the_bound() -> None:
    cache: SizedLru[str] = SizedLru(max_bytes=10)
    cache.put("a", "page a", 4)
    cache.put("b", "page b", 4)
    assert cache.get("a") == "page a"  # now b is the least recently used

    cache.put("c", "page c", 4)

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("page a", None, "page c")


def test_a_value_larger_than_the_bound_is_not_kept_and_keeps_nothing_out() -> None:
    cache: SizedLru[str] = SizedLru(max_bytes=10)
    cache.put("small", "page", 3)

    cache.put("huge", "page", 11)

    assert cache.get("huge") is None
    assert cache.get("small") == "page"


def test_a_new_value_of_a_key_replaces_the_old_and_its_size() -> None:
    cache: SizedLru[str] = SizedLru(max_bytes=10)
    cache.put("a", "old", 8)
    cache.put("a", "new", 2)
    cache.put("b", "other", 8)

    assert (cache.get("a"), cache.get("b"), len(cache)) == ("new", "other", 2)
