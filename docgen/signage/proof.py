"""Proof sheet of a sign: A4, the sign scaled down, and its specification.

A proof is for people (the station, the sign maker), not for production: it embeds fonts
and uses RGB screen approximations of the colours. The production file is the 1:1 PDF.
A substitute font is flagged in a red box: the 方正 faces of the standard are commercial
and are used only when the user has put them in ``fonts/``.
"""
from __future__ import annotations

import html
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer, Table, TableStyle

from ..errors import DocgenError
from ..render.fonts import rl_font
from ..render.pdf import CJKParagraph, rich
from .layout import SignLayout
from .outline import union
from .spec import InsertSpec, PlateSpec

PREVIEW_MAX_W = 170 * mm
PREVIEW_MAX_H = 105 * mm
NICE_RATIOS = (1, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50)


def _ratio(width_mm: float, height_mm: float) -> float:
    for n in NICE_RATIOS:
        if width_mm * mm / n <= PREVIEW_MAX_W and height_mm * mm / n <= PREVIEW_MAX_H:
            return n
    return max(width_mm * mm / PREVIEW_MAX_W, height_mm * mm / PREVIEW_MAX_H)


def _draw_contours(path, contours, k: float, dx: float = 0, dy: float = 0) -> None:
    for contour in contours:
        for seg in contour:
            pts = [((x + dx) * k, (y + dy) * k) for x, y in seg[1:]]
            if seg[0] == "M":
                path.moveTo(*pts[0])
            elif seg[0] == "L":
                path.lineTo(*pts[0])
            elif seg[0] == "C":
                path.curveTo(*pts[0], *pts[1], *pts[2])
            else:
                path.close()


class SignPreview(Flowable):
    """The sign drawn to scale, with its dimensions."""

    def __init__(self, layout: SignLayout, material_rgb: str, bleed: float = 0.0, marks: tuple | None = None):
        super().__init__()
        self.layout = layout
        self.material = colors.HexColor(material_rgb)
        self.bleed = bleed
        self.marks = marks  # (offset, length) in mm, insert signs only
        self.ratio = _ratio(layout.width + 2 * bleed, layout.height + 2 * bleed)
        self.k = mm / self.ratio  # points per sign millimetre
        self.pad = ((marks[0] + marks[1]) if marks else 0) * self.k + 12 * mm

    def wrap(self, aw, ah):
        self.width = aw
        self.height = self.layout.height * self.k + 2 * self.pad
        return self.width, self.height

    def draw(self):
        c, lay, k = self.canv, self.layout, self.k
        ox = (self.width - lay.width * k) / 2
        oy = self.pad
        c.saveState()
        c.translate(ox, oy)
        if lay.kind == "insert":
            b = self.bleed
            c.setFillColor(self.material)
            c.setStrokeColor(self.material)
            path = c.beginPath()
            path.rect(-b * k, -b * k, (lay.width + 2 * b) * k, (lay.height + 2 * b) * k)
            _draw_contours(path, union([cc for g in lay.glyphs for cc in g.contours]), k)
            c.drawPath(path, stroke=0, fill=1, fillMode=0)  # even-odd: the letters are holes
            c.setStrokeColor(colors.white)
            c.setDash(2, 2)
            c.setLineWidth(0.4)
            c.rect(0, 0, lay.width * k, lay.height * k, stroke=1, fill=0)
            c.setDash()
            if self.marks:
                near, far = (v * k for v in self.marks)
                c.setStrokeColor(colors.black)
                c.setLineWidth(0.3)
                w, h = lay.width * k, lay.height * k
                for x in (0, w):
                    c.line(x, -far, x, -near)
                    c.line(x, h + near, x, h + far)
                for y in (0, h):
                    c.line(-far, y, -near, y)
                    c.line(w + near, y, w + far, y)
        else:
            c.setFillColor(self.material)
            c.setStrokeColor(colors.HexColor("#e6007e"))
            c.setLineWidth(0.5)
            c.rect(0, 0, lay.width * k, lay.height * k, stroke=1, fill=1)
            c.setFillColor(colors.black)
            path = c.beginPath()
            for g in lay.glyphs:
                _draw_contours(path, g.contours, k)
            c.drawPath(path, stroke=0, fill=1, fillMode=1)  # non-zero
        # dimensions
        c.setFillColor(colors.black)
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.4)
        w, h = lay.width * k, lay.height * k
        gap = self.bleed * k + (self.marks[0] + self.marks[1] if self.marks else 0) * k + 3 * mm
        c.line(0, -gap, w, -gap)
        c.line(-gap, 0, -gap, h)
        from reportlab.pdfbase.pdfmetrics import stringWidth

        font = rl_font("table")
        c.setFont(font, 8)
        label = f"{lay.width:g} mm"
        c.drawString(w / 2 - stringWidth(label, font, 8) / 2, -gap - 3.5 * mm, label)
        c.saveState()
        c.translate(-gap - 1.5 * mm, h / 2)
        c.rotate(90)
        label = f"{lay.height:g} mm"
        c.drawString(-stringWidth(label, font, 8) / 2, 0, label)
        c.restoreState()
        c.restoreState()


def _p(text: str, role: str = "table", size: float = 9, colour=colors.black, leading: float | None = None,
       align: int = 0) -> CJKParagraph:
    style = ParagraphStyle("p", fontName=rl_font("table"), fontSize=size, leading=leading or size * 1.35,
                           textColor=colour, alignment=align, wordWrap="CJK")
    return CJKParagraph(rich(html.escape(text, quote=False), role), style)


def _cmyk_text(values) -> str:
    return "/".join(f"{v * 100:g}" for v in values)


def _font_rows(layout: SignLayout, font, requested: str) -> tuple[list, CJKParagraph | None]:
    rf = font.role
    used = f"{rf.face.label}（{Path(rf.face.path).name}）"
    warning = None
    if rf.substitute:
        used += "——替代字体"
        warning = _p(f"注意：替代字体！标准要求“{requested}”，本机没有安装，本件改用开源字体 {rf.face.label}，"
                     f"字形与标准字体不同。需要标准字体时，请把已获授权的{rf.requested}字体文件放入 fonts/ 目录，"
                     "再运行 docgen signage 重新生成。", "heading", 10.5, colors.HexColor("#c00000"))
    rows = [["字体（标准要求）", requested], ["字体（实际使用）", used]]
    if layout.fallback_chars:
        fb = font.fallback.face.label if font.fallback else ""
        chars = "".join(layout.fallback_chars)
        rows.append(["补字", f"“{chars}”在标准字体中没有，改用 {fb}"])
        warning = _p(f"注意：补字！“{chars}”在{rf.face.label}中没有，改用 {fb} 补字，字形与其余文字不同。"
                     "请与制作单位核对，或换用含有此字的标准字体文件。", "heading", 10.5, colors.HexColor("#c00000"))
    return rows, warning


def _sheet(title: str, layout: SignLayout, preview: SignPreview, rows: list, warning, date: str,
           doc_title: str) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, topMargin=15 * mm, bottomMargin=15 * mm, leftMargin=20 * mm,
                            rightMargin=20 * mm, title=doc_title, author="docgen", subject="标牌校样",
                            creator="docgen", producer="docgen", invariant=1, pageCompression=1,
                            initialFontName=rl_font("table"))  # never reference a non-embedded Helvetica
    story = [_p(title, "heading", 15, leading=20, align=1), Spacer(1, 1.5 * mm),
             _p(layout.name, "heading", 11, align=1), Spacer(1, 2 * mm)]
    if warning is not None:
        box = Table([[warning]], colWidths=[doc.width])
        box.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), rl_font("table")),
                                 ("BOX", (0, 0), (-1, -1), 1.5, colors.HexColor("#c00000")),
                                 ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fde9e9")),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                                 ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
        story += [box, Spacer(1, 1 * mm)]
    story.append(preview)
    note = f"缩小示意，比例 1:{preview.ratio:g}；屏幕和打印颜色为近似色"
    if layout.kind == "insert":
        note += "；白色虚线为成品边（裁切位置），虚线外为出血，四角短线为裁切线"
    else:
        note += "；外框为切割线 CutContour"
    story.append(_p(note, size=8, align=1,
                    colour=colors.HexColor("#555555")))
    story.append(Spacer(1, 3 * mm))
    table = Table([[_p(a, "heading", 9), _p(b)] for a, b in rows + [["校样日期", date]]],
                  colWidths=[32 * mm, doc.width - 32 * mm])
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), rl_font("table")),  # cells set it: no Helvetica
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#777777")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
                               ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    story += [table, Spacer(1, 3 * mm),
              _p("本页为校样，供核对文字、版式和规格；制作以 1:1 生产文件（PDF 或 SVG）为准。"
                 "生产文件中文字已转为曲线，不含字体，颜色仅用 CMYK 和专色（见上表）。", size=8,
                 colour=colors.HexColor("#555555"))]
    doc.build(story)
    return buf.getvalue()


def plate_proof(layout: SignLayout, spec: PlateSpec, font, files: dict[str, str], date: str) -> bytes:
    name = spec.names[layout.form]
    fmt, orient = (("竖牌", "竖排，自上而下、从右到左") if layout.vertical else ("方牌", "横排，自左向右"))
    gap_mm = spec.line_gap_em * layout.em
    font_rows, warning = _font_rows(layout, font, spec.font_requested)
    left, right, bottom, top = layout.margins
    rows = [
        ["表单", f"{layout.form} {name}（附录 B，规范 {spec.standard}）"],
        ["站点", f"{layout.station_id}　{layout.name}"],
        ["文字", f"{' ｜ '.join(layout.lines)}（{orient}，{len(layout.lines)} {'列' if layout.vertical else '行'}，"
                 f"每{'列' if layout.vertical else '行'}居中，整体居中）"],
        ["成品尺寸", f"{layout.width:g} mm（宽）× {layout.height:g} mm（高），{fmt}；标准：{spec.size_text}"],
        ["材质（可选）", "、".join(spec.materials)],
        *font_rows,
        ["字号", f"{spec.size_pt:g} pt（每字 {layout.em:.2f} mm），{spec.size_rule}，不缩放"],
        ["颜色", f"文字 {spec.colour_name}（CMYK {_cmyk_text(spec.colour_cmyk)}），单色黑"],
        ["边距与行距", f"左右各 {left:.1f} mm，上下各 {top:.1f} mm（至少 {spec.margin:g} mm）；"
                  f"{'列距' if layout.vertical else '行距'} {spec.line_gap_em:g} 字（{gap_mm:.2f} mm）"],
        ["生产文件", f"{files['pdf']}（1:1 PDF，蚀刻，无出血；外框为专色 {spec.cut_name} "
                 f"{spec.cut_width_pt:g} pt 切割线）；{files['svg']}（SVG，单位 mm，供雕刻软件）"],
    ]
    preview = SignPreview(layout, spec.proof_material_rgb)
    return _sheet(f"标牌校样　{layout.form} {name}", layout, preview, rows, warning, date,
                  f"{layout.form} {name} 校样 {layout.name}")


def insert_proof(layout: SignLayout, spec: InsertSpec, font, files: dict[str, str], date: str) -> bytes:
    font_rows, warning = _font_rows(layout, font, spec.font_requested)
    left, right, bottom, top = layout.margins
    rows = [
        ["表单", f"{layout.form} {spec.name}（附录 C，规范 {spec.standard}）"],
        ["站点", f"{layout.station_id}　{layout.name}"],
        ["文字", f"{' ｜ '.join(layout.lines)}（横排，{len(layout.lines)} 行，每行居中，整体居中）"],
        ["成品尺寸", f"{layout.width:g} mm（宽）× {layout.height:g} mm（高）（标准未规定，"
                 "工作区设置 [signage] insert_width_mm / insert_height_mm）"],
        ["出血与裁切", f"四边出血 {spec.bleed:g} mm（底色铺满出血）；裁切线在出血之外"
                  f"（距成品边 {spec.mark_offset:g}～{spec.mark_offset + spec.mark_length:g} mm，K100）"],
        ["材质（可选）", "、".join(spec.materials)],
        *font_rows,
        ["字号", f"{layout.size_pt:.1f} pt（每字 {layout.em:.2f} mm），按牌面大小排满，四边留白均匀"],
        ["颜色", f"底色 {spec.background_name}（CMYK {_cmyk_text(spec.background_cmyk)}）；"
               f"文字{spec.text_colour_name}，为底色镂空（底色不叠印）"],
        ["白墨", f"文字处另有专色 {spec.white_name}（叠印，替代色 CMYK 0/0/0/0）标出白墨范围：白色 PVC 等白色基材"
               "可不印白墨，文字即基材的白色；透明有机玻璃、铝合金原色等非白色基材须在文字处印白墨"
               "（底色下是否铺白由制作单位按基材决定）"],
        ["边距", f"左右各 {left:.1f} mm，上下各 {top:.1f} mm"],
        ["生产文件", f"{files['pdf']}（1:1 PDF，含出血和裁切线；成品边为专色 {spec.cut_name} "
                 f"{spec.cut_width_pt:g} pt 切割线）；{files['svg']}（SVG，成品尺寸，单位 mm）"],
    ]
    preview = SignPreview(layout, spec.proof_background_rgb, spec.bleed, (spec.mark_offset, spec.mark_length))
    return _sheet(f"标牌校样　{layout.form} {spec.name}", layout, preview, rows, warning, date,
                  f"{layout.form} {spec.name} 校样 {layout.name}")


def png_preview(pdf: bytes, dpi: int = 100) -> bytes:
    """The first page of a PDF as PNG, rendered with pdftoppm (poppler-utils)."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise DocgenError("找不到 pdftoppm，无法生成校样预览图。请安装 poppler-utils（sudo apt-get install poppler-utils）")
    with tempfile.TemporaryDirectory(prefix="docgen-proof-") as tmp:
        src = Path(tmp) / "proof.pdf"
        src.write_bytes(pdf)
        done = subprocess.run([exe, "-png", "-r", str(dpi), "-singlefile", str(src), str(Path(tmp) / "proof")],
                              capture_output=True, text=True, timeout=120)
        out = Path(tmp) / "proof.png"
        if done.returncode != 0 or not out.exists():
            raise DocgenError(f"pdftoppm 生成校样预览图失败：{done.stderr.strip()}")
        return out.read_bytes()
