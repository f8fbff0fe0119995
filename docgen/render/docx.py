"""Layout -> DOCX template (python-docx), and template + view -> DOCX (docxtpl).

``write_template`` turns a form's layout into ``templates/<FORM>.docx``: the same page,
tables, merged cells and texts, with the Jinja tags kept (``{{ p.name }}``, row loops as
``{%tr for … %}``). ``render_docx`` fills such a template with docxtpl. Every run carries
its East Asian font (w:eastAsia) as well as the Latin one, header rows are marked
w:tblHeader, and data newlines become line breaks.
"""
from __future__ import annotations

import copy
import io
import re
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from ..documents.layout import Layout, Loop, PageBreak, Para, Row, Spacer, Table, make_env
from .fonts import role_table
from .ooxml import normalise_zip

_ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
          "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}
_VALIGN = {"top": WD_CELL_VERTICAL_ALIGNMENT.TOP, "middle": WD_CELL_VERTICAL_ALIGNMENT.CENTER,
           "bottom": WD_CELL_VERTICAL_ALIGNMENT.BOTTOM}
_TAG = re.compile(r"(<u>|</u>|<br/>)")


def docx_family(role: str) -> str:
    """The family name written into DOCX files: the official face the standard names.

    The DOCX is for editing in an office where the official fonts are installed; the
    reader substitutes where they are not. (PDFs embed what was actually used.)
    """
    fams = role_table().get(role, {}).get("families") or ["宋体"]
    return fams[0]


def _set_run_font(run, role: str, size: float) -> None:
    family = docx_family(role)
    run.font.name = family
    run.font.size = Pt(size)
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), family)


# w:rPr children after w:spacing in the schema sequence (CT_RPr)
_AFTER_SPACING = ("w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr",
                  "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout",
                  "w:specVanish", "w:oMath")


def _set_char_space(run, points: float) -> None:
    """Character spacing (Word's "condensed/expanded by"), in twentieths of a point."""
    rpr = run._element.get_or_add_rPr()
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:val"), str(round(points * 20)))
    later = [child for child in rpr if child.tag in {qn(t) for t in _AFTER_SPACING}]
    if later:
        later[0].addprevious(spacing)
    else:
        rpr.append(spacing)


def _write_text(paragraph, text: str, role: str, size: float) -> None:
    underline = False
    for part in _TAG.split(text):
        if not part:
            continue
        if part == "<u>":
            underline = True
        elif part == "</u>":
            underline = False
        elif part == "<br/>":
            paragraph.add_run().add_break(WD_BREAK.LINE)
        else:
            run = paragraph.add_run(part)
            run.underline = underline
            _set_run_font(run, role, size)


def _cell_paragraph(cell, text: str, role: str, size: float, align: str) -> None:
    p = cell.paragraphs[0]
    p.alignment = _ALIGN[align]
    pf = p.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing = 1.0
    _write_text(p, text, role, size)


def _mark_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _no_split(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))


def _loop_marker_row(table, text: str, ncols: int) -> None:
    row = table.add_row()
    merged = row.cells[0].merge(row.cells[ncols - 1]) if ncols > 1 else row.cells[0]
    merged.paragraphs[0].add_run(text)


def _add_table(doc, table: Table, frame_width_mm: float) -> None:
    ncols = table.columns
    total = sum(table.widths)
    widths = [Mm(w / total * frame_width_mm) for w in table.widths]
    t = doc.add_table(rows=0, cols=ncols)
    if table.border:
        t.style = "Table Grid"
    t.autofit = False
    # plain rows are placed together so that row spans work; loops are single rows
    segments: list[list[Row] | Loop] = []
    for item in table.rows:
        if isinstance(item, Loop):
            segments.append(item)
        elif segments and isinstance(segments[-1], list):
            segments[-1].append(item)
        else:
            segments.append([item])
    spanning: list[tuple[int, object]] = []  # (column, tc) of cells spanning into the next loop
    for seg in segments:
        if isinstance(seg, Loop):
            _loop_marker_row(t, "{%%tr for %s in (%s) | pad(%d) %%}" % (seg.var, seg.items, seg.min_rows), ncols)
            _add_rows(t, [seg.row], ncols, widths, table, skip={c for c, _ in spanning})
            row_idx = len(t.rows) - 1
            for c, tc in spanning:
                _vmerge(tc, "restart")
                _vmerge(t.cell(row_idx, c)._tc, None)
            spanning = []
            _loop_marker_row(t, "{%tr endfor %}", ncols)
        else:
            spanning = _add_rows(t, seg, ncols, widths, table)
    for i, col in enumerate(t.columns):
        col.width = widths[i]
    if table.keep:  # rows stay whole and on the page of the next row
        for i, row in enumerate(t.rows):
            _no_split(row)
            if i < len(t.rows) - 1:
                for cell in row.cells:
                    for para in cell.paragraphs:
                        para.paragraph_format.keep_with_next = True
    # fixed layout so Word and LibreOffice keep the column widths of the form
    tblpr = t._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)
    jc = OxmlElement("w:jc")
    jc.set(qn("w:val"), "center")
    tblpr.append(jc)


def _vmerge(tc, value: str | None) -> None:
    tcpr = tc.get_or_add_tcPr()
    el = OxmlElement("w:vMerge")
    if value:
        el.set(qn("w:val"), value)
    tcpr.append(el)


def _add_rows(t, rows: list[Row], ncols: int, widths, table: Table, skip: set[int] = frozenset()) -> list:
    """Add plain rows; returns (column, tc) of cells that span into a following loop."""
    from .pdf import grid_positions

    spanning = []
    placed = grid_positions(rows, ncols)
    if skip:  # columns held by a cell spanning from above
        placed = [_shift(line, skip) for line in placed]
    start = len(t.rows)
    for row in rows:
        r = t.add_row()
        r.height = Mm(row.height)
        r.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        if row.header:
            _mark_header(r)
        for i, c in enumerate(r.cells):
            c.width = widths[i]
    for ri, (row, line) in enumerate(zip(rows, placed)):
        for c, cell in line:
            target = t.cell(start + ri, c)
            if cell.rowspan > 1 or cell.colspan > 1:
                target = target.merge(t.cell(start + ri + cell.rowspan - 1, c + cell.colspan - 1))
            target.vertical_alignment = _VALIGN[cell.valign]
            role = cell.role if cell.role != "table" else table.role
            _cell_paragraph(target, cell.text, role, cell.size or table.size, cell.align)
            if cell.rowspan == -1:
                spanning.append((c, target._tc))
    return spanning


def _shift(line, skip: set[int]):
    """Move cells right past the skipped columns."""
    out = []
    offset = 0
    for c, cell in line:
        col = c + offset
        while col in skip:
            offset += 1
            col += 1
        out.append((col, cell))
    return out


def _add_page_number_footer(section, role: str) -> None:
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def text(t: str) -> None:
        run = p.add_run(t)
        _set_run_font(run, role, 9)

    def field(code: str) -> None:
        run = p.add_run()
        _set_run_font(run, role, 9)
        for kind, value in (("begin", None), ("instr", code), ("separate", None), ("text", "1"), ("end", None)):
            if kind == "instr":
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = f" {value} "
            elif kind == "text":
                el = OxmlElement("w:t")
                el.text = value
            else:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            run._r.append(el)

    text("第 ")
    field("PAGE")
    text(" 页 共 ")
    field("NUMPAGES")
    text(" 页")


def build_template(layout: Layout) -> bytes:
    """The DOCX template of a layout (Jinja tags kept), as bytes."""
    doc = Document()
    section = doc.sections[0]
    if layout.landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    else:
        section.page_width, section.page_height = Mm(210), Mm(297)
    top, right, bottom, left = layout.margins
    section.top_margin, section.right_margin = Mm(top), Mm(right)
    section.bottom_margin, section.left_margin = Mm(bottom), Mm(left)
    section.footer_distance = Mm(6)
    frame_width = (297 if layout.landscape else 210) - left - right
    # default style: East Asian font set, no spacing after paragraphs
    normal = doc.styles["Normal"]
    normal.font.name = docx_family("table")
    normal.element.get_or_add_rPr()
    rfonts = normal.element.rPr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        normal.element.rPr.insert(0, rfonts)
    rfonts.set(qn("w:eastAsia"), docx_family("table"))
    normal.paragraph_format.space_after = Pt(0)
    # python-docx starts with one empty paragraph: reuse it for the first block
    first = doc.paragraphs[0] if doc.paragraphs else None
    for block in layout.blocks:
        if isinstance(block, Para):
            if block.items:  # one paragraph per item (docxtpl paragraph tags: none without items)
                marker = first if first is not None else doc.add_paragraph()
                marker.add_run("{%%p for %s in (%s) %%}" % (block.var, block.items))
                first = None
            p = first if first is not None else doc.add_paragraph()
            first = None
            p.alignment = _ALIGN[block.align]
            pf = p.paragraph_format
            pf.space_before = Mm(block.space_before)
            pf.space_after = Mm(block.space_after)
            pf.line_spacing = Pt(block.leading or block.size * 1.35)
            if block.indent:
                pf.first_line_indent = Pt(block.indent * block.size)
            if block.keep_with_next:
                pf.keep_with_next = True
            _write_text(p, block.text, block.role, block.size)
            if block.char_space:
                for run in p.runs:
                    _set_char_space(run, block.char_space)
            if block.items:
                doc.add_paragraph().add_run("{%p endfor %}")
        elif isinstance(block, Table):
            if first is not None:
                first._element.getparent().remove(first._element)
                first = None
            _add_table(doc, block, frame_width)
        elif isinstance(block, Spacer):
            p = doc.add_paragraph()
            p.paragraph_format.line_spacing = Mm(block.height)
        elif isinstance(block, PageBreak):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    if layout.page_numbers:
        _add_page_number_footer(section, "table")
    if layout.footer:
        p = section.footer.add_paragraph() if layout.page_numbers else section.footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(layout.footer)
        _set_run_font(run, "table", 7.5)
    # deterministic core properties
    import datetime as dt

    cp = doc.core_properties
    cp.author = "docgen"
    cp.last_modified_by = "docgen"
    cp.title = layout.doc_title
    cp.created = cp.modified = dt.datetime(2020, 1, 1)
    cp.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())


_DOCX_ENV = make_env(False)


def render_docx(template: Path, ctx: dict) -> bytes:
    """Fill a DOCX template with a view; newlines in values become line breaks."""
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(str(template))
    tpl.render(ctx, jinja_env=_DOCX_ENV, autoescape=True)
    body = tpl.docx.element.body
    for t in list(body.iter(qn("w:t"))):
        if t.text and "\n" in t.text:
            _split_newlines(t)
    buf = io.BytesIO()
    tpl.docx.core_properties.revision = 1
    tpl.save(buf)
    return normalise_zip(buf.getvalue())


def _split_newlines(t) -> None:
    run = t.getparent()
    parts = t.text.split("\n")
    t.text = parts[0]
    anchor = t
    for part in parts[1:]:
        br = OxmlElement("w:br")
        anchor.addnext(br)
        nt = copy.deepcopy(t)
        nt.text = part
        nt.set(qn("xml:space"), "preserve")
        br.addnext(nt)
        anchor = nt
    t.set(qn("xml:space"), "preserve")
    del run
