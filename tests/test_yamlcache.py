"""The persistent cache of parsed YAML files (`io.yamlcache`): keyed by content, so an edit is a
miss; only exact JSON values stored; a damaged, unwritable or disabled cache changes nothing but
speed; parse errors are never cached."""

import json

import pytest

from prfaas_plan.errors import InvalidFileError
from prfaas_plan.io import yamlcache, yamlfile

TEXT = "name: h-test\nvalues: [1, 2.5, -0.0, 1.0e-300, 123456789012345678901234567890]\nflag: true\nnone: null\n" \
       "nested: {a: {b: [x, 'y: z']}}\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("PRFAAS_CACHE_DIR", str(d))
    return d


def _no_parse(monkeypatch):
    def fail(text, path):
        raise AssertionError("parsed although cached")
    monkeypatch.setattr(yamlfile, "_parse", fail)


def test_second_read_comes_from_the_cache_and_equals_the_parse(tmp_path, cache, monkeypatch):
    f = tmp_path / "a.yaml"
    f.write_text(TEXT)
    first = yamlfile.read_yaml(f, cache=True)
    assert first == yamlfile.read_yaml(f)  # the uncached parse
    assert len(list(cache.glob("*.json"))) == 1
    _no_parse(monkeypatch)
    second = yamlfile.read_yaml(f, cache=True)
    assert second == first
    assert [type(v) for v in second["values"]] == [int, float, float, float, int]
    second["nested"]["a"] = 0  # a caller's edit does not reach the cache
    assert yamlfile.read_yaml(f, cache=True)["nested"] == {"a": {"b": ["x", "y: z"]}}


def test_an_edited_file_is_parsed_again(tmp_path, cache):
    f = tmp_path / "a.yaml"
    f.write_text(TEXT)
    assert yamlfile.read_yaml(f, cache=True)["name"] == "h-test"
    f.write_text(TEXT.replace("h-test", "h-edited"))
    assert yamlfile.read_yaml(f, cache=True)["name"] == "h-edited"
    assert len(list(cache.glob("*.json"))) == 2


def test_damaged_entry_is_ignored_and_rewritten(tmp_path, cache):
    f = tmp_path / "a.yaml"
    f.write_text(TEXT)
    yamlfile.read_yaml(f, cache=True)
    (entry,) = cache.glob("*.json")
    entry.write_text('{"name": "trunc')
    assert yamlfile.read_yaml(f, cache=True)["name"] == "h-test"
    assert json.loads(entry.read_text())["name"] == "h-test"
    assert not list(cache.glob("*.tmp"))


@pytest.mark.parametrize("damage", ["deep-list", "deep-object", "fifo", "folder"])
def test_hostile_entry_is_a_miss(tmp_path, cache, damage):
    """An entry nested past the JSON decoder's recursion limit used to escape as RecursionError (an
    internal error, exit 3); a FIFO in its place blocked the read forever."""
    import os

    f = tmp_path / "a.yaml"
    f.write_text(TEXT)
    yamlfile.read_yaml(f, cache=True)
    (entry,) = cache.glob("*.json")
    entry.unlink()
    if damage == "fifo":
        os.mkfifo(entry)
    elif damage == "folder":
        entry.mkdir()
    else:
        n = 100_000
        entry.write_text("[" * n + "]" * n if damage == "deep-list" else '{"a":' * n + "1" + "}" * n)
    assert yamlcache.lookup(TEXT) == (False, None)
    assert yamlfile.read_yaml(f, cache=True)["name"] == "h-test"


def test_unusable_or_disabled_cache_changes_nothing(tmp_path, monkeypatch):
    f = tmp_path / "a.yaml"
    f.write_text(TEXT)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("PRFAAS_CACHE_DIR", str(blocker / "sub"))  # cannot be created
    assert yamlfile.read_yaml(f, cache=True) == yamlfile.read_yaml(f)
    monkeypatch.setenv("PRFAAS_CACHE_DIR", "off")
    assert yamlcache.cache_dir() is None
    assert yamlfile.read_yaml(f, cache=True) == yamlfile.read_yaml(f)


def test_only_exact_json_values_are_stored(tmp_path, cache):
    for i, text in enumerate(["when: 2026-11-23\n", "1: one\n", "s: !!set {a, b}\n", "b: !!binary aGk=\n"]):
        f = tmp_path / f"{i}.yaml"
        f.write_text(text)
        assert yamlfile.read_yaml(f, cache=True) == yamlfile.read_yaml(f)
    assert not list(cache.glob("*.json"))
    assert yamlcache.json_exact({"a": [1, 2.0, None, True, "x"]})
    assert not yamlcache.json_exact({"a": (1, 2)})


def test_parse_errors_are_not_cached(tmp_path, cache):
    f = tmp_path / "bad.yaml"
    f.write_text("a: 1\na: 2\n")
    for _ in range(2):
        with pytest.raises(InvalidFileError, match="duplicated key"):
            yamlfile.read_yaml(f, cache=True)
    assert not list(cache.glob("*.json"))


def test_catalog_entries_load_the_same_through_the_cache(cache):
    from prfaas_plan.catalog import Catalog

    cold = Catalog().model("minimax-m2.5"), Catalog().hardware("h200")
    assert len(list(cache.glob("*.json"))) == 2
    warm = Catalog().model("minimax-m2.5"), Catalog().hardware("h200")
    assert warm == cold
