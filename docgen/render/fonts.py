"""Fonts by role, with the official face first and an open substitute after it.

* ``fonts/roles.toml`` (data) names, per role, the official families and the Noto CJK
  substitute. Licensed fonts dropped into ``fonts/`` are found by family name.
* reportlab embeds TrueType outlines only; the Noto CJK faces are CFF-based. A CFF face
  is converted once per machine into a TrueType file in the cache
  (``$DOCGEN_CACHE_DIR`` or ``~/.cache/docgen``), guarded by a lock so that parallel
  processes convert it only once. ``cidfont.CIDTTFont`` embeds one subset of it per
  document (a Type0 font: no 256-glyph limit, one set of tables).
* Every character is checked: a run of text is split over the role's faces (primary,
  then substitute); a character that no face has raises ``MissingGlyph``.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import DocgenError
from ..fsutil import atomic_write, private_dir
from ..resources import DATA_ROOT

PACKAGE_ROOT = DATA_ROOT  # the data folders: the checkout, or an installed wheel's copies
CONVERTER_VERSION = "3"  # 3: 250 units per em, 0.004 em curve tolerance, minimal name table
# The converted faces are only embedded in PDFs (as subsets). On a 250-unit grid every
# coordinate step of a glyph fits in one byte, which makes each embedded glyph ~25 %
# smaller than at 1000 units; the rounding (at most 0.002 em: 0.02 pt at 10 pt) and the
# curve tolerance (0.04 pt at 10 pt) stay far below a printer dot (0.12 pt at 600 dpi).
# CJK metrics scale exactly (1000 → 250 units).
CONVERTED_UPM = 250
CURVE_TOLERANCE_EM = 0.004
_NAME_IDS_KEPT = (1, 2, 3, 4, 6)  # family, style, unique id, full name, PostScript name
FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc"}
SYSTEM_FONT_DIRS = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
                    Path.home() / ".local/share/fonts", Path.home() / ".fonts"]


class MissingGlyph(DocgenError):
    def __init__(self, char: str, role: str, context: str = ""):
        self.char = char
        self.role = role
        self.context = context
        where = f"（{context}）" if context else ""
        super().__init__(
            f"字符“{char}”（U+{ord(char):04X}）在已配置的字体中都没有{where}，无法印制。"
            f"请核对该字，或把含有此字的字体放入 fonts/ 目录")


def cache_dir() -> Path:
    base = os.environ.get("DOCGEN_CACHE_DIR")
    if base:
        return private_dir(Path(base))
    xdg = os.environ.get("XDG_CACHE_HOME")
    return private_dir(Path(xdg) / "docgen" if xdg else Path.home() / ".cache" / "docgen")


def font_dirs() -> list[Path]:
    dirs = []
    # DOCGEN_FONTS_DIR: extra folders (os.pathsep-separated), e.g. the workspace's fonts/
    for extra in os.environ.get("DOCGEN_FONTS_DIR", "").split(os.pathsep):
        if extra:
            dirs.append(Path(extra))
    dirs.append(PACKAGE_ROOT / "fonts")
    dirs.extend(SYSTEM_FONT_DIRS)
    return [d for d in dirs if d.is_dir()]


def roles_file() -> Path:
    return PACKAGE_ROOT / "fonts" / "roles.toml"


@lru_cache(maxsize=1)
def role_table() -> dict[str, dict]:
    try:
        return tomllib.loads(roles_file().read_text(encoding="utf-8"))["roles"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise DocgenError(f"字体角色配置 {roles_file()} 无法读取：{exc}") from None


# --------------------------------------------------------------------------- face index


@dataclass(frozen=True)
class Face:
    path: str
    index: int
    names: tuple[str, ...]  # every family / full name the face states, any language
    family: str  # typographic family (English where stated)
    style: str  # typographic subfamily: Regular, Bold, Black ...
    cff: bool

    @property
    def key(self) -> str:
        st = os.stat(self.path)
        raw = f"{self.path}|{self.index}|{st.st_size}|{int(st.st_mtime)}|{CONVERTER_VERSION}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"{self.family} {self.style}".strip()


def _scan_file(path: Path) -> list[dict]:
    from fontTools.ttLib import TTCollection, TTFont

    out = []
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            fonts = TTCollection(str(path), lazy=True).fonts
        else:
            fonts = [TTFont(str(path), lazy=True)]
    except Exception:  # unreadable or not a font: skip it
        return out
    for i, font in enumerate(fonts):
        try:
            name = font["name"]
            names = sorted({str(r.toUnicode()).strip() for r in name.names if r.nameID in (1, 4, 16)})
            family = (name.getDebugName(16) or name.getDebugName(1) or "").strip()
            style = (name.getDebugName(17) or name.getDebugName(2) or "").strip()
            out.append({"path": str(path), "index": i, "names": names, "family": family,
                        "style": style, "cff": "CFF " in font or "CFF2" in font})
        except Exception:
            continue
    return out


@lru_cache(maxsize=1)
def face_index() -> tuple[Face, ...]:
    """Every font face in the font folders (cached on disk by file size and mtime)."""
    index_path = cache_dir() / "font-index.json"
    try:
        cached = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    result: list[dict] = []
    fresh: dict[str, dict] = {}
    changed = False
    for d in font_dirs():
        for p in sorted(d.rglob("*")):
            if p.suffix.lower() not in FONT_SUFFIXES or not p.is_file():
                continue
            st = p.stat()
            stamp = f"{st.st_size}:{int(st.st_mtime)}"
            entry = cached.get(str(p))
            if entry is None or entry.get("stamp") != stamp:
                entry = {"stamp": stamp, "faces": _scan_file(p)}
                changed = True
            fresh[str(p)] = entry
            result.extend(entry["faces"])
    if changed or set(fresh) != set(cached):
        try:
            atomic_write(index_path, json.dumps(fresh, ensure_ascii=False).encode())
        except OSError:
            pass
    return tuple(Face(path=f["path"], index=f["index"], names=tuple(f["names"]), family=f["family"],
                      style=f["style"], cff=f["cff"]) for f in result)


def _norm(name: str) -> str:
    return name.replace(" ", "").replace("-", "").replace("_", "").lower()


def find_family(family: str) -> Face | None:
    want = _norm(family)
    system = tuple(str(d) for d in SYSTEM_FONT_DIRS)
    hits = [f for f in face_index() if any(_norm(n) == want for n in f.names)]
    # a drop-in font (workspace fonts/, project fonts/) wins over a system copy
    hits.sort(key=lambda f: (f.path.startswith(system), f.path, f.index))
    return hits[0] if hits else None


def find_substitute(family: str, weight: str) -> Face | None:
    want_f, want_w = _norm(family), _norm(weight)
    for f in face_index():
        if _norm(f.family) == want_f and _norm(f.style) == want_w:
            return f
    return None


@dataclass(frozen=True)
class RoleFont:
    role: str
    label: str
    requested: str  # the official family the standard asks for
    face: Face
    substitute: bool  # True when the official face is not installed
    fallback: Face | None  # used for characters the primary face lacks


@lru_cache(maxsize=None)
def role_font(role: str) -> RoleFont:
    table = role_table()
    if role not in table:
        raise DocgenError(f"未知的字体角色“{role}”，可用：{'、'.join(table)}")
    spec = table[role]
    families = spec.get("families", [])
    sub = spec.get("substitute", {})
    sub_face = find_substitute(sub.get("family", ""), sub.get("weight", "Regular")) if sub else None
    for fam in families:
        face = find_family(fam)
        if face is not None:
            return RoleFont(role, spec.get("label", role), families[0], face, False, sub_face)
    if sub_face is None:
        raise DocgenError(
            f"字体角色“{spec.get('label', role)}”没有可用字体：既没有 {families[0] if families else '官方字体'}，"
            f"也没有替代字体 {sub.get('family')} {sub.get('weight')}。"
            "请安装 Debian 软件包 fonts-noto-cjk 和 fonts-noto-cjk-extra"
            "（sudo apt-get install fonts-noto-cjk fonts-noto-cjk-extra），或把字体放入 fonts/ 目录")
    return RoleFont(role, spec.get("label", role), families[0] if families else "", sub_face, True, None)


def all_roles() -> list[RoleFont]:
    return [role_font(r) for r in role_table()]


# --------------------------------------------------------------------------- conversion


def _convert_cff(face: Face, target: Path) -> None:
    """Convert a CFF-flavoured face into a TrueType (glyf) font file."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    from fontTools.pens.transformPen import TransformPen

    font = TTFont(face.path, fontNumber=face.index if face.path.lower().endswith((".ttc", ".otc")) else -1)
    glyph_set = font.getGlyphSet()
    order = font.getGlyphOrder()
    scale = CONVERTED_UPM / font["head"].unitsPerEm
    glyphs = {}
    for name in order:
        tt_pen = TTGlyphPen(None)
        pen = Cu2QuPen(tt_pen, CURVE_TOLERANCE_EM * CONVERTED_UPM, reverse_direction=True)
        glyph_set[name].draw(TransformPen(pen, (scale, 0, 0, scale, 0, 0)) if scale != 1 else pen)
        glyphs[name] = tt_pen.glyph()
    for tag in ("CFF ", "CFF2", "VORG", "GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx"):
        if tag in font:
            del font[tag]
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    if scale != 1:
        _scale_metrics(font, scale)
    # reportlab copies the name table into every subset it embeds: keep only what names the face
    name_table = font["name"]
    kept = [r for r in name_table.names if r.nameID in _NAME_IDS_KEPT and r.platformID == 3]
    if kept:
        name_table.names = kept
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxPoints",
                 "maxContours", "maxCompositePoints", "maxCompositeContours", "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"
    import io

    buf = io.BytesIO()
    font.save(buf)
    atomic_write(target, buf.getvalue())


def _scale_metrics(font, scale: float) -> None:
    """Scale the metrics of a font whose outlines were scaled by ``scale``."""
    def r(v):
        return int(round(v * scale))

    font["hmtx"].metrics = {g: (r(w), r(lsb)) for g, (w, lsb) in font["hmtx"].metrics.items()}
    head = font["head"]
    head.unitsPerEm = CONVERTED_UPM
    for a in ("xMin", "yMin", "xMax", "yMax"):
        setattr(head, a, r(getattr(head, a)))
    hhea = font["hhea"]
    for a in ("ascent", "descent", "lineGap", "advanceWidthMax", "minLeftSideBearing", "minRightSideBearing",
              "xMaxExtent"):
        setattr(hhea, a, r(getattr(hhea, a)))
    if "OS/2" in font:
        os2 = font["OS/2"]
        for a in ("xAvgCharWidth", "ySubscriptXSize", "ySubscriptYSize", "ySubscriptXOffset", "ySubscriptYOffset",
                  "ySuperscriptXSize", "ySuperscriptYSize", "ySuperscriptXOffset", "ySuperscriptYOffset",
                  "yStrikeoutSize", "yStrikeoutPosition", "sTypoAscender", "sTypoDescender", "sTypoLineGap",
                  "usWinAscent", "usWinDescent", "sxHeight", "sCapHeight"):
            if hasattr(os2, a):
                setattr(os2, a, r(getattr(os2, a)))
    post = font["post"]
    post.underlinePosition = r(post.underlinePosition)
    post.underlineThickness = r(post.underlineThickness)


def truetype_path(face: Face) -> tuple[str, int]:
    """A TrueType file for ``face`` that reportlab can embed: (path, subfont index).

    CFF faces are converted once per machine and cached.
    """
    if not face.cff:
        return face.path, face.index
    out_dir = private_dir(cache_dir() / "fonts")
    target = out_dir / f"{Path(face.path).stem}-{face.index}-{face.key}.ttf"
    if not target.exists():
        lock_path = out_dir / f".{target.name}.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not target.exists():
                    _convert_cff(face, target)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    _mark_used(out_dir, target)
    return str(target), 0


CACHE_UNUSED_DAYS = 30


def _mark_used(out_dir: Path, current: Path) -> None:
    """Note that ``current`` is in use (its mtime, at most daily), and remove the other
    conversions of the same face that nothing used for ``CACHE_UNUSED_DAYS``: made by an
    older converter or from an older version of the font file (each is tens of MB). One in
    use by another docgen installation sharing the cache is touched by it and stays."""
    now = time.time()
    try:
        if now - current.stat().st_mtime > 86400:
            os.utime(current)
    except OSError:
        return
    stem = current.name.rsplit("-", 1)[0]  # "<font file stem>-<subfont index>"
    for old in out_dir.glob(f"{stem}-*.ttf"):
        if old == current or old.name.rsplit("-", 1)[0] != stem:
            continue
        try:
            if now - old.stat().st_mtime > CACHE_UNUSED_DAYS * 86400:
                old.unlink()  # a process still reading it keeps its open copy
        except OSError:
            pass


def prepare_all(parallel: bool = True) -> list[str]:
    """Convert every face the roles need for PDF text (run once per machine)."""
    faces = []
    for rf in all_roles():
        if rf.role in ("plate", "insert"):
            continue  # signs use glyph outlines, never embedded fonts
        for face in (rf.face, rf.fallback):
            if face is not None and face.cff and face not in faces:
                faces.append(face)
    if parallel and len(faces) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(len(faces), os.cpu_count() or 1)) as pool:
            return [p for p, _ in pool.map(truetype_path, faces)]
    return [truetype_path(f)[0] for f in faces]


# --------------------------------------------------------------------------- reportlab


@lru_cache(maxsize=None)
def _rl_register(face: Face) -> tuple[str, frozenset]:
    from reportlab.pdfbase import pdfmetrics

    from .cidfont import CIDTTFont

    _patch_reportlab()
    path, index = truetype_path(face)
    name = "F" + face.key[:10]
    font = CIDTTFont(name, path, subfontIndex=index)
    pdfmetrics.registerFont(font)
    return name, frozenset(font.face.charToGlyph)


def rl_font(role: str) -> str:
    """reportlab font name of a role's primary face (registered on first use)."""
    return _rl_register(role_font(role).face)[0]


def _chain(role: str) -> list[tuple[str, frozenset]]:
    rf = role_font(role)
    chain = [_rl_register(rf.face)]
    if rf.fallback is not None and rf.fallback != rf.face:
        chain.append(_rl_register(rf.fallback))
    from .symbols import symbol_font  # check boxes ☐ ☑ ☒ the CJK faces lack, drawn by docgen

    chain.append(symbol_font())
    return chain


_ALWAYS_OK = {"\n", "\r", "\t"}


def split_runs(text: str, role: str, context: str = "") -> list[tuple[str, str]]:
    """Split ``text`` into (reportlab font name, substring) runs the role's faces can print."""
    chain = _chain(role)
    runs: list[tuple[str, str]] = []
    for ch in text:
        if ch in _ALWAYS_OK or ch == " ":
            font = runs[-1][0] if runs else chain[0][0]
        else:
            cp = ord(ch)
            for name, cmap in chain:
                if cp in cmap:
                    font = name
                    break
            else:
                raise MissingGlyph(ch, role, context)
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + ch)
        else:
            runs.append((font, ch))
    return runs


def missing_chars(text: str, role: str) -> list[str]:
    chain = _chain(role)
    return [ch for ch in dict.fromkeys(text)
            if ch not in _ALWAYS_OK and ch != " " and not any(ord(ch) in cmap for _, cmap in chain)]


_patched = False


class _BytesView:
    """Read-only window on a font file's table: slicing gives bytes, nothing else is copied."""

    __slots__ = ("view",)

    def __init__(self, view: memoryview):
        self.view = view

    def __getitem__(self, key):
        return bytes(self.view[key]) if isinstance(key, slice) else self.view[key]

    def __len__(self) -> int:
        return len(self.view)


def _patch_reportlab() -> None:
    """Give reportlab's font file reader cheap table access (``cidfont`` subsets use it)."""
    global _patched
    if _patched:
        return
    from reportlab.pdfbase import ttfonts

    # get_table copies a whole table out of the font file on every call (the glyf table of a
    # CJK face is megabytes: ~6 ms a document). Font files do not change while they are
    # loaded: copy the small tables once, and give glyf as a view that copies only the
    # glyphs a subset slices out of it.
    plain_get_table = ttfonts.TTFontFile.get_table

    def get_table(self, tag):
        tables = self.__dict__.setdefault("_docgen_tables", {})
        data = tables.get(tag)
        if data is None:
            if tag == "glyf":
                pos, length = self.get_table_pos(tag)
                data = _BytesView(memoryview(self._ttf_data)[pos:pos + length])
            else:
                data = plain_get_table(self, tag)
            tables[tag] = data
        return data

    ttfonts.TTFontFile.get_table = get_table
    _patched = True
