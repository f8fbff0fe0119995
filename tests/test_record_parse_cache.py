"""The persistent parse cache of record files (``docgen.records.cache``): a cached load is the
same Dataset as an uncached one, whatever happened to the files or to the cache file."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest

from docgen.records import cache as rc
from docgen.records.cache import CACHE_NAME, RecordParseCache, code_fingerprint, load_records_cached
from docgen.records.load import Diagnostic, load_records

from conftest import ROOT, run_cli

FULL_ID = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")


def snapshot(ds) -> dict:
    """Everything a Dataset says (the optional stamps aside), comparable with ==."""
    return {
        "persons": {k: v.model_dump() for k, v in ds.persons.items()},
        "person_order": list(ds.persons),
        "stations": {k: v.model_dump() for k, v in ds.stations.items()},
        "institutions": {k: v.model_dump() for k, v in ds.institutions.items()},
        "logs": {k: [e.model_dump() for e in v] for k, v in ds.logs.items()},
        "diagnostics": [d.as_dict() for d in ds.diagnostics],
        "sources": {k: [str(p) for p in v] for k, v in ds.sources.items()},
        "files": [str(p) for p in ds.files],
        "bad_files": sorted(str(p) for p in ds.bad_files),
    }


def uncached(ws: Path) -> dict:
    return snapshot(load_records([ws / "records"], base=ws))


def cached(ws: Path, cache_file: Path, refresh: bool = False) -> dict:
    return snapshot(load_records_cached([ws / "records"], ws, cache_file, refresh=refresh))


def hits(ws: Path, cache_file: Path, expect: dict | None = None) -> int:
    """How many files a load takes from the cache (the cache written back); ``expect``: the
    snapshot the load must give."""
    cache = RecordParseCache(cache_file)
    ds = load_records([ws / "records"], base=ws, parse=cache.parse)
    if expect is not None:
        assert snapshot(ds) == expect
    cache.save()
    return cache.hits


def count_files(ws: Path) -> int:
    return len(list((ws / "records").rglob("*.yaml")))


def person_file(ws: Path, pid: str) -> Path:
    return ws / "records" / "persons" / f"{pid}.yaml"


def test_cached_load_equals_uncached_through_edits(workspace: Path, tmp_path: Path):
    cache_file = tmp_path / "out" / CACHE_NAME
    assert cached(workspace, cache_file) == uncached(workspace)  # cold: every file parsed
    assert cache_file.stat().st_mode & 0o777 == 0o600
    n = count_files(workspace)
    assert hits(workspace, cache_file) == n
    assert cached(workspace, cache_file) == uncached(workspace)  # warm: every file from the cache

    recs = workspace / "records"
    # an edit, a syntax error, a validation error, a cross-file error (positions are needed for
    # a file taken from the cache), an event file of an unknown person, a file removed, one added
    p1 = person_file(workspace, "NJ2024001")
    p1.write_text(p1.read_text(encoding="utf-8").replace("跟踪回访责任人: 吴婷", "跟踪回访责任人: 周敏"), encoding="utf-8")
    p2 = person_file(workspace, "NJ2024002")
    p2.write_text(p2.read_text(encoding="utf-8") + "\n联系方式 \"1\n", encoding="utf-8")
    p3 = person_file(workspace, "NJ2024003")
    p3.write_text(p3.read_text(encoding="utf-8").replace("性别: ", "性别: X", 1), encoding="utf-8")
    (recs / "stations" / "nj-qh-hwl.yaml").unlink()  # persons of this station: 服务站 does not exist
    (recs / "events" / "ghost.yaml").write_text("记录类型: 事件\n对象: NJ9999999\n事件:\n  - 类型: 回访\n"
                                                "    日期: 2026-10-14\n    方式: 家庭走访\n", encoding="utf-8")
    shutil.copy(person_file(workspace, "NJ2025001"), recs / "persons" / "NJ2025001-copy.yaml")  # duplicate
    expected = uncached(workspace)
    assert any("不存在" in d["message"] for d in expected["diagnostics"])
    assert any("重复" in d["message"] for d in expected["diagnostics"])
    # the unchanged files come from the cache; the three edited and two added ones are parsed
    assert hits(workspace, cache_file, expected) == count_files(workspace) - 5
    assert cached(workspace, cache_file) == expected  # and now with the bad files cached too
    assert hits(workspace, cache_file) == count_files(workspace)

    # the broken files repaired: back to what an uncached load says
    shutil.copy(ROOT / "examples" / "records" / "persons" / "NJ2024002.yaml", p2)
    shutil.copy(ROOT / "examples" / "records" / "stations" / "nj-qh-hwl.yaml", recs / "stations")
    assert cached(workspace, cache_file) == uncached(workspace)


def test_edit_keeping_size_and_mtime_is_seen(workspace: Path, tmp_path: Path):
    cache_file = tmp_path / CACHE_NAME
    cached(workspace, cache_file)
    p = person_file(workspace, "NJ2024001")
    st = p.stat()
    text = p.read_text(encoding="utf-8")
    assert '联系方式: "13753250873"' in text
    p.write_text(text.replace('联系方式: "13753250873"', '联系方式: "13753250874"'), encoding="utf-8")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (p.stat().st_size, p.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    got = cached(workspace, cache_file)
    assert got["persons"]["NJ2024001"]["phone"] == "13753250874"
    assert got == uncached(workspace)


def test_removed_file_leaves_the_cache(workspace: Path, tmp_path: Path):
    cache_file = tmp_path / CACHE_NAME
    p = person_file(workspace, "NJ2024001")
    name = "钱国栋".encode()
    cached(workspace, cache_file)
    assert str(p) in RecordParseCache(cache_file).entries
    assert name in cache_file.read_bytes()  # pickled strings are UTF-8
    p.unlink()
    assert cached(workspace, cache_file) == uncached(workspace)
    assert str(p) not in RecordParseCache(cache_file).entries
    assert name not in cache_file.read_bytes()
    assert len(RecordParseCache(cache_file).entries) == count_files(workspace)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "flipped", "mode", "symlink"])
def test_damaged_cache_is_ignored_and_rebuilt(workspace: Path, tmp_path: Path, damage: str):
    cache_file = tmp_path / CACHE_NAME
    cached(workspace, cache_file)
    data = cache_file.read_bytes()
    if damage == "garbage":
        cache_file.write_bytes(b"not a cache at all" * 100)
    elif damage == "truncated":
        cache_file.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        cache_file.write_bytes(b"")
    elif damage == "flipped":  # one byte of an entry changed: the checksum no longer matches
        i = len(data) - 1000
        cache_file.write_bytes(data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1:])
    elif damage == "mode":  # others may write it: not trusted
        cache_file.chmod(0o666)
    elif damage == "symlink":
        real = tmp_path / "elsewhere"
        real.write_bytes(data)
        real.chmod(0o600)
        cache_file.unlink()
        cache_file.symlink_to(real)
    assert hits(workspace, cache_file) == 0
    assert cached(workspace, cache_file) == uncached(workspace)
    assert not cache_file.is_symlink() and cache_file.stat().st_mode & 0o777 == 0o600
    assert hits(workspace, cache_file) == count_files(workspace)


def test_foreign_owned_cache_is_ignored(workspace: Path, tmp_path: Path):
    cache_file = tmp_path / CACHE_NAME
    cached(workspace, cache_file)
    try:
        os.chown(cache_file, os.geteuid() + 4321, -1)
    except PermissionError:
        pytest.skip("changing a file's owner needs root")
    assert hits(workspace, cache_file) == 0
    assert cache_file.stat().st_uid == os.geteuid()  # written anew, ours


class _Boom:
    def __reduce__(self):
        return (os.system, (f"touch {_Boom.marker}",))


def test_cache_pickles_cannot_run_code(workspace: Path, tmp_path: Path):
    """Even a cache of ours with a valid header loads no class but the records' own."""
    cache_file = tmp_path / CACHE_NAME
    _Boom.marker = tmp_path / "ran"
    cached(workspace, cache_file)
    c = RecordParseCache(cache_file)
    key, entry = next(iter(c.entries.items()))
    # an entry whose digest matches its file but whose pickle calls os.system
    c.fresh = {**c.entries, key: rc._Entry(entry.digest, entry.day, entry.shown, pickle.dumps((_Boom(), [])))}
    c.changed = True
    assert c.save()
    assert cached(workspace, cache_file) == uncached(workspace)
    # the outer structure calling os.system
    payload = pickle.dumps({"x": _Boom()})
    cache_file.write_bytes(rc.MAGIC + code_fingerprint() + hashlib.blake2b(payload, digest_size=32).digest()
                           + payload)
    cache_file.chmod(0o600)
    assert hits(workspace, cache_file) == 0
    assert not _Boom.marker.exists()


def test_code_fingerprint_invalidates(workspace: Path, tmp_path: Path, monkeypatch):
    cache_file = tmp_path / CACHE_NAME
    cached(workspace, cache_file)
    assert hits(workspace, cache_file) == count_files(workspace)
    monkeypatch.setattr(rc, "code_fingerprint", lambda: b"\1" * 32)
    assert hits(workspace, cache_file) == 0
    assert cached(workspace, cache_file) == uncached(workspace)


def test_code_fingerprint_follows_code_and_libraries(tmp_path: Path, monkeypatch):
    import pydantic

    before = code_fingerprint()
    assert code_fingerprint() == before
    # the records code: a copy of the package's folder with one file changed
    records = Path(rc.__file__).parent
    copy = tmp_path / "records"
    shutil.copytree(records, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(rc, "__file__", str(copy / "cache.py"))
    assert code_fingerprint() == before
    with open(copy / "model.py", "a", encoding="utf-8") as fh:
        fh.write("\n# changed\n")
    changed = code_fingerprint()
    assert changed != before
    monkeypatch.setattr(pydantic, "VERSION", pydantic.VERSION + ".post1")
    assert code_fingerprint() not in (before, changed)


def test_day_rule(workspace: Path, tmp_path: Path):
    """An accepted file's entry stays good on later days; one with diagnostics only that day."""
    cache_file = tmp_path / CACHE_NAME
    bad = person_file(workspace, "NJ2024003")
    bad.write_text(bad.read_text(encoding="utf-8").replace("性别: ", "性别: X", 1), encoding="utf-8")
    cached(workspace, cache_file)
    c = RecordParseCache(cache_file)
    c.fresh = {k: rc._Entry(e.digest, e.day - 1, e.shown, e.blob) for k, e in c.entries.items()}
    c.changed = True
    c.save()
    assert hits(workspace, cache_file) == count_files(workspace) - 1  # the bad file is parsed again
    # an entry from a later day (the clock went back) is not used
    c = RecordParseCache(cache_file)
    tomorrow = dt.date.today().toordinal() + 1
    c.fresh = {k: rc._Entry(e.digest, tomorrow, e.shown, e.blob) for k, e in c.entries.items()}
    c.changed = True
    c.save()
    assert hits(workspace, cache_file) == 0


def test_validation_reads_the_date_only_where_the_cache_knows():
    """The day rule above holds because the records code reads today's date in validation only
    for 'birth date after today'. When this fails, revisit ``records/cache.py`` (the day rule)."""
    records = Path(rc.__file__).parent
    uses = []
    for src in sorted(records.glob("*.py")):
        if src.name in ("cache.py", "load.py"):  # load.py: cross-file checks, run on every load
            continue
        for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\b(today|now|utcnow|time|monotonic)\(\)|localtime|getenv|environ", line):
                uses.append((src.name, line.strip()))
    assert uses == [("idcard.py", "if birth > dt.date.today():")]
    # and in load.py only the cross-file step reads it (after the parse of each file)
    load_src = (records / "load.py").read_text(encoding="utf-8")
    parse_part = load_src[load_src.index("def _load_file"):load_src.index("def load_records")]
    assert "today" not in parse_part


def _cache_diagnostic(cache_file: Path, path: Path, message: str) -> None:
    """Make the cache say ``message`` about ``path``: shows whether a command used it."""
    c = RecordParseCache(cache_file)
    key = str(path)
    entry = c.entries[key]
    blob = pickle.dumps((None, [Diagnostic("records/persons/NJ2024001.yaml", 1, 1, "", message)]))
    c.fresh = {**c.entries, key: rc._Entry(entry.digest, entry.day, "records/persons/NJ2024001.yaml", blob)}
    c.changed = True
    assert c.save()


def test_cli_build_uses_and_force_rebuilds_the_cache(workspace: Path):
    out = workspace / "output"
    args = ("build", "-w", str(workspace), "--forms", "D", "--format", "pdf", "-q")
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    cache_file = out / CACHE_NAME
    assert cache_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in out.iterdir() if "cache" in p.name] == [CACHE_NAME]
    p = (workspace / "records" / "persons" / "NJ2024001.yaml").resolve()
    _cache_diagnostic(cache_file, p, "缓存标记")
    # validate uses the output folder's cache (it exists); build does too; --force does not
    r = run_cli("validate", "-w", str(workspace))
    assert "缓存标记" in r.stderr
    r = run_cli(*args)
    assert "缓存标记" in r.stderr
    r = run_cli(*args, "--force")
    assert r.returncode == 0 and "缓存标记" not in r.stderr, r.stderr
    r = run_cli("validate", "-w", str(workspace))  # --force wrote the cache anew
    assert r.returncode == 0 and "缓存标记" not in r.stderr, r.stderr


def test_no_full_id_number_in_cache_name_or_messages(workspace: Path):
    p = person_file(workspace, "NJ2024001")
    p.write_text(p.read_text(encoding="utf-8").replace('身份证号码: "320104197506144456"',
                                                        '身份证号码: "320104197506144457"'), encoding="utf-8")
    args = ("build", "-w", str(workspace), "--forms", "D", "--format", "pdf")
    for _ in range(2):  # cold, then from the cache
        r = run_cli(*args)
        assert "校验码" in r.stderr
        assert not FULL_ID.search(r.stdout + r.stderr), r.stdout + r.stderr
    names = [str(q.relative_to(workspace)) for q in (workspace / "output").rglob(".*")]
    assert not any(FULL_ID.search(n) for n in names)


def test_unwritable_output_folder_still_loads(workspace: Path, tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert cached(workspace, folder / CACHE_NAME) == uncached(workspace)
    finally:
        folder.chmod(0o700)


def test_cache_file_unreadable_content_types(workspace: Path, tmp_path: Path):
    """A well-formed cache whose entries have the wrong shape is ignored, not trusted."""
    cache_file = tmp_path / CACHE_NAME
    payload = pickle.dumps({"a": ("not bytes", 1, None, b"")})
    cache_file.write_bytes(rc.MAGIC + code_fingerprint() + hashlib.blake2b(payload, digest_size=32).digest()
                           + payload)
    cache_file.chmod(0o600)
    assert RecordParseCache(cache_file).entries == {}
    assert cached(workspace, cache_file) == uncached(workspace)
