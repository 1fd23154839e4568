"""The local Foundry's listing pages: cursor order, filters, and a cost that follows the page, not the store."""

from __future__ import annotations

from pathlib import Path

from ftops.emulator._store import PageQuery, Store


def _store(tmp_path: Path, files: int) -> Store:
    store = Store(tmp_path)
    with store.tx() as c:
        for i in range(files):
            purpose = "fine-tune-results" if i % 3 == 2 else "fine-tune"
            store.put(c, "file", f"file-{i:05d}", {"id": f"file-{i:05d}", "purpose": purpose, "bytes": i})
    return store


def _ids(store: Store, query: PageQuery) -> tuple[list[str], bool]:
    with store.tx() as c:
        page, more = store.page(c, "file", query)
    return [o["id"] for o in page], more


def test_pages_follow_the_cursor_in_either_order_and_say_whether_more_follow(tmp_path: Path) -> None:
    store = _store(tmp_path, 5)
    assert _ids(store, PageQuery(limit=2, newest_first=True)) == (["file-00004", "file-00003"], True)
    assert _ids(store, PageQuery(limit=2, newest_first=True, after="file-00003")) == (["file-00002", "file-00001"],
                                                                                     True)
    assert _ids(store, PageQuery(limit=2, newest_first=True, after="file-00001")) == (["file-00000"], False)
    assert _ids(store, PageQuery(limit=3, after="file-00001")) == (["file-00002", "file-00003", "file-00004"], False)
    assert _ids(store, PageQuery(limit=3, after="file-gone")) == ([], False)


def test_filters_apply_before_the_limit(tmp_path: Path) -> None:
    store = _store(tmp_path, 9)  # files 2, 5 and 8 hold results
    assert _ids(store, PageQuery(limit=2, newest_first=True, equal={"purpose": "fine-tune"})) == (
        ["file-00007", "file-00006"], True)
    assert _ids(store, PageQuery(limit=5, equal={"purpose": "fine-tune-results"})) == (
        ["file-00002", "file-00005", "file-00008"], False)


def test_metadata_filters_compare_keys_and_values_exactly(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.tx() as c:
        store.put(c, "job", "a", {"id": "a", "metadata": {'we"ird.key': "x", "k": "1"}})
        store.put(c, "job", "b", {"id": "b", "metadata": {"k": "1"}})
        store.put(c, "job", "c", {"id": "c", "metadata": None})
        both, _ = store.page(c, "job", PageQuery(limit=10, metadata={"k": "1"}))
        weird, _ = store.page(c, "job", PageQuery(limit=10, metadata={'we"ird.key': "x", "k": "1"}))
        none, _ = store.page(c, "job", PageQuery(limit=10, metadata={"k": "2"}))
    assert [j["id"] for j in both] == ["a", "b"] and [j["id"] for j in weird] == ["a"] and none == []


def _steps(store: Store, query: PageQuery) -> int:
    """SQLite virtual-machine steps one page costs (counted by a progress handler, not timed)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0
    with store.tx() as c:
        c.set_progress_handler(count, 10)
        store.page(c, "file", query)
        c.set_progress_handler(None, 10)
    return steps


def test_a_page_costs_the_page_not_the_whole_listing(tmp_path: Path) -> None:
    small = _store(tmp_path / "small", 300)
    large = _store(tmp_path / "large", 6000)
    for cursor in (None, "file-00150"):
        query = PageQuery(limit=100, newest_first=True, after=cursor, equal={"purpose": "fine-tune"})
        # 20 times the files: a page that read them all would cost about 20 times more.
        assert _steps(large, query) < 2 * _steps(small, query)


def test_totals_count_in_sqlite(tmp_path: Path) -> None:
    store = _store(tmp_path, 4)
    with store.tx() as c:
        assert store.totals(c, "file", "bytes") == (4, 0 + 1 + 2 + 3)
        assert store.totals(c, "job", "bytes") == (0, 0)
