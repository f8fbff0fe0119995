"""Appendix F 预解戒人员信息对接通知书: a three-part form (底联 / 通知书 / 回执).

The sheet is drawn directly with reportlab on one A4 landscape page: three panels side by
side, dashed cut lines between them, and the notice number printed across each cut line
(骑缝) so the parts can be matched after cutting. The texts of the panels follow the
appendix (the text extraction of the standard shuffles them; reconstructed here):

* 底联 — title + （底联）, 编号, addressee, the message with the counts, keep-note, date;
* 通知书 — title, 编号, addressee, the full message with the institution's contact person
  and phone, keep-note, 戒毒所(印章), date;
* 回执 — title, addressed to the 戒毒所, acknowledgement quoting the number, keep-note,
  查收人, 市后续照管指导站(印章), date (left blank: the station fills it in).

A notice PDF is the sheet, followed by the roster (花名册) of the people it names and the
enclosures the notice says are sent with it (F: the agreements, form E, of those who signed
and the information sheets, form D; K: the roster only). Notices are issued by
``docgen notice issue`` (``docgen.registry.notices``), which allocates the number and stores
the view the notice was rendered from; ``targets`` renders the notices of the register from
those stored views (an issued notice never takes later changes of the records). A voided
notice (``view["void"]``: date and reason) is stamped 作废 on every page of its PDF; in its
DOCX the three parts' titles say （作废） and every page header gives the date and reason.
"""
from __future__ import annotations

import html
import io
from dataclasses import dataclass

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from ..records.load import Dataset
from ..records.model import split_address
from .base import Form, Period, cn_date, cn_month, s
from .layout import FULL_SPACE, Cell, L, Layout, Loop, PageBreak, Para, Row, Table, Title, V

BLANK_NUMBER = f"{FULL_SPACE * 3}戒[20{FULL_SPACE * 2}]{FULL_SPACE * 2}号"
BLANK_DATE = f"{FULL_SPACE * 3}年{FULL_SPACE * 2}月{FULL_SPACE * 2}日"
BLANK = FULL_SPACE * 3
NBSP_EM = "\u00a0" * 4  # about one em in the CJK body faces (a no-break space is 0.256 em)


@dataclass(frozen=True)
class Part:
    part: str  # 底联 | 通知书 | 回执
    title: str
    keep: str


class NoticeForm(Form):
    """What F and K share: the sheet, the roster, the bundle."""

    kind = "triple"
    scope = "institution"
    periodic = False
    series = ""
    parts: tuple[Part, ...] = ()
    roster_title = ""

    # ------------------------------------------------------------------ texts
    def message(self, v: dict, u, full: bool) -> str:  # pragma: no cover - F and K override
        raise NotImplementedError

    def receipt_message(self, v: dict, u) -> str:  # pragma: no cover - F and K override
        raise NotImplementedError

    @staticmethod
    def filled(v: dict, u) -> tuple[str, str, str]:
        """(contact, phone, number) as printed in the messages: the value marked by ``u``, or
        the blank a hand fills in."""
        contact = u(v["contact"]) if v.get("contact") else FULL_SPACE * 4
        phone = u(v["phone"]) if v.get("phone") else FULL_SPACE * 5
        number = u(v["number"]) if v.get("number") else BLANK_NUMBER
        return contact, phone, number

    def texts(self, v: dict, u) -> dict:
        """The composed panel texts; ``u`` marks a filled-in value (underline in the PDF)."""
        number = v.get("number") or BLANK_NUMBER
        city = v.get("station_city") or BLANK
        inst = v.get("institution") or BLANK
        supp = "（补充）" if v.get("supplement") else ""
        return {
            "number": number,
            "supp": supp,
            "to_station": f"{u(city) if v.get('station_city') else city}后续照管指导站：",
            "to_institution": f"{u(inst)}：" if v.get("institution") else f"{BLANK}戒毒所：",
            "msg_stub": self.message(v, u, full=False),
            "msg_notice": self.message(v, u, full=True),
            "msg_receipt": self.receipt_message(v, u),
            "seal_institution": f"{inst if v.get('institution') else BLANK + '戒毒所'}(印章)",
            "seal_station": f"{city}后续照管指导站(印章)",
            "date": v.get("date") or BLANK_DATE,
            "receipt_date": BLANK_DATE,
        }

    # ------------------------------------------------------------------ DOCX layout
    def build_layout(self) -> Layout:
        stub, notice, receipt = self.parts
        br = "<br/>"
        c1 = br.join([f"{stub.title}{{{{ t.supp }}}}（底联）", "", "编号：{{ t.number }}", "",
                      "{{ t.to_station }}", f"{FULL_SPACE * 2}{{{{ t.msg_stub }}}}", "", stub.keep, "",
                      "{{ t.date }}"])
        c2 = br.join([f"{notice.title}{{{{ t.supp }}}}", "", "编号：{{ t.number }}", "",
                      "{{ t.to_station }}", f"{FULL_SPACE * 2}{{{{ t.msg_notice }}}}", "", notice.keep, "",
                      "{{ t.seal_institution }}", "{{ t.date }}"])
        c3 = br.join([f"{receipt.title}{{{{ t.supp }}}}", "", "", "", "{{ t.to_institution }}",
                      f"{FULL_SPACE * 2}{{{{ t.msg_receipt }}}}", "", receipt.keep, "", "查收人：",
                      "{{ t.seal_station }}", "{{ t.receipt_date }}"])
        cells = [Cell(c, align="left", valign="top", role="body") for c in (c1, c2, c3)]
        # the roster the notice says is sent with it follows on its own page, as in the PDF
        return Layout([Table([1, 1, 1], [Row(cells, 170)], size=10.5), PageBreak(), *self.roster_layout().blocks],
                      landscape=True, margins=(12, 12, 12, 12), doc_title=self.name)

    def render_docx(self, view: dict) -> bytes:
        from ..render.docx import render_docx

        t = self.texts(view, lambda x: x)
        if view.get("void"):  # each of the three parts says so in its title
            t["supp"] += "（作废）"
        data = render_docx(self.template_path, {**view, "t": t})
        if view.get("void"):
            data = void_docx(data, view["void"])
        return data

    # ------------------------------------------------------------------ PDF
    def blank_view(self) -> dict:
        return {"kind_name": self.name}  # the roster page of the DOCX names the notice it belongs to

    def render_pdf(self, view: dict, context: str = "") -> bytes:
        sheet = draw_sheet(self, view, context)
        extra = []
        if view.get("roster"):
            from ..render.pdf import render_pdf

            extra.append(render_pdf(self.roster_layout(), view, context))
        for form, eview, ectx in view.get("enclosures", []):
            extra.append(_enclosure_form(form).render_pdf(eview, ectx))
        pdf = merge_pdfs([sheet, *extra], self.name) if extra else sheet
        if view.get("void"):
            pdf = void_pdf(pdf, view["void"], self.name)
        return pdf

    # the roster enclosed with the notice: its columns (label, view key, width) and total line
    roster_columns: tuple[tuple[str, str, float], ...] = ()
    roster_total = ""

    def roster_layout(self) -> Layout:
        return Layout([
            Title(self.roster_title, size=16, space_after=1),
            Para("（《{{ kind_name }}》{{ number }} 附件{{ supp_note }}）", align="center", size=10.5,
                 space_after=1),
            Para("发文单位：{{ institution | blank(10) }}；收件单位：{{ station_name | blank(10) }}；"
                 "解除强制隔离戒毒时间：{{ release_month | blank(6) }}",
                 size=10.5, space_after=2),
            _roster_table(list(self.roster_columns)),
            Para(self.roster_total, size=10.5, space_before=2),
        ], landscape=True, margins=(14, 14, 16, 14), page_numbers=True, doc_title=self.roster_title)

    # ------------------------------------------------------------------ targets
    def targets(self, ds: Dataset, period: Period | None):
        """The notices of this kind in the workspace register (none are issued here), each
        from the view stored when it was issued; voided ones with their 作废 mark."""
        ws = getattr(ds, "workspace", None)
        if ws is None:
            return []
        from ..registry import notices

        months = {p.key for p in period.months()} if period else None
        return notices.issued_targets(ds, ws.data, self.code, months)


# --------------------------------------------------------------------------- views


def person_row(ds: Dataset, p, i: int) -> dict:
    d = p.detention
    c = p.cultivation
    mentor_unit = ""
    if c:
        unit = ds.institutions.get(c.unit) or ds.stations.get(c.unit)
        mentor_unit = (getattr(unit, "name", None) or getattr(unit, "display_name", None) or c.unit) if unit else c.unit
    return {"i": str(i), "id": p.id, "name": p.name, "sex": p.sex, "birth": cn_month(p.birth_month),
            "id_number": p.id_number, "household": s(p.household), "release": cn_date(d.release),
            "team": s(d.team), "agreement": "已签订" if p.agreement else "未签订",
            "signed_on": cn_date(p.agreement.signed) if p.agreement else "",
            "cult_unit": s(mentor_unit), "mentor": s(c and c.mentor), "cult_signed": cn_date(c and c.signed)}


def notice_view(form: NoticeForm, ds: Dataset, institution, station, number: str, people: list,
                date=None, supplement: int = 0, month: str = "", release_month: str = "",
                enclosures: bool = True) -> dict:
    """The view of one notice: sheet values, roster rows and enclosures (other forms' views)."""
    rows = [person_row(ds, p, i + 1) for i, p in enumerate(people)]
    signed = sum(1 for p in people if p.agreement)
    view = {
        "kind": form.code, "number": number, "station_city": station.city,
        "station_name": station.display_name, "institution": institution.name,
        "contact": s(institution.contact), "phone": s(institution.phone),
        "count": str(len(people)), "signed": str(signed),
        "names": "、".join(p.name for p in people[:3]),
        "date": cn_date(date) if date else "", "supplement": supplement,
        "month": month, "release_month": cn_month(release_month) if release_month else "",
        "roster": rows, "kind_name": form.name, "supp_note": "，补充通知" if supplement else "",
    }
    if enclosures:
        view["enclosures"] = form.enclosures(ds, people)
    return view


def enclosure_views(ds: Dataset, code: str, person_ids: list[str]) -> list[tuple]:
    """(form, view, context) of form ``code`` for these people, in their order; [] if the
    form is not available."""
    from ..errors import DocgenError
    from .registry import all_forms

    form = all_forms().get(code)
    if form is None:
        return []
    try:
        by_person: dict[str, list] = {}
        for t in form.targets(ds, None):
            if t.person in person_ids:
                by_person.setdefault(t.person, []).append(t)
    except DocgenError:
        return []
    return [(form, t.view, t.context) for pid in person_ids for t in by_person.get(pid, [])]


def card_enclosures(ds: Dataset, people: list) -> list[tuple]:
    """Each person's contact card (X1: their own 服务站 and officer), ten to an A4 sheet."""
    from .registry import all_forms

    form = all_forms().get("X1")
    if form is None or not people:
        return []
    from .x1_card import COLS, ROWS, person_card_view, sheet_view

    per = COLS * ROWS
    return [(form, sheet_view([person_card_view(ds, p) for p in people[i:i + per]]), f"联系卡（第{i // per + 1}页）")
            for i in range(0, len(people), per)]


# --------------------------------------------------------------------------- drawing

PAGE = landscape(A4)
MARGIN_X = 12 * mm
MARGIN_Y = 13 * mm
GAP = 16 * mm  # between panels; the cut line runs in its middle
BODY_PT = 11.0
TITLE_PT = 14.5


def panel_boxes() -> tuple[list[tuple[float, float]], list[float]]:
    """x ranges of the three panels and the x of the two cut lines (points)."""
    width = (PAGE[0] - 2 * MARGIN_X - 2 * GAP) / 3
    boxes, cuts = [], []
    x = MARGIN_X
    for i in range(3):
        boxes.append((x, x + width))
        if i < 2:
            cuts.append(x + width + GAP / 2)
        x += width + GAP
    return boxes, cuts


def _style(role: str, size: float, align, leading: float | None = None, indent: float = 0) -> ParagraphStyle:
    from ..render.fonts import rl_font

    return ParagraphStyle(name=f"n-{role}-{size}-{align}", fontName=rl_font(role), fontSize=size,
                          leading=leading or size * 1.75, alignment=align, wordWrap="CJK",
                          firstLineIndent=indent * size)


def _rich(text: str, role: str, context: str, size: float | None = None) -> str:
    from ..render.pdf import rich

    # reportlab collapses U+3000 like any white space; no-break spaces keep the blanks
    markup = rich(text.replace(FULL_SPACE, NBSP_EM), role, context)
    return f'<font size="{size}">{markup}</font>' if size else markup


class _Markup(str):
    """Text already converted to reportlab markup."""


def _width(text: str, role: str, size: float) -> float:
    from ..render.fonts import split_runs

    return sum(stringWidth(t, f, size) for f, t in split_runs(text, role, ""))


def _draw_string(c, x: float, y: float, text: str, role: str, size: float, context: str,
                 anchor: str = "left") -> None:
    from ..render.fonts import split_runs

    runs = split_runs(text, role, context)
    width = sum(stringWidth(t, f, size) for f, t in runs)
    if anchor == "center":
        x -= width / 2
    elif anchor == "right":
        x -= width
    for font, run in runs:
        c.setFont(font, size)
        c.drawString(x, y, run)
        x += stringWidth(run, font, size)


def draw_sheet(form: NoticeForm, view: dict, context: str = "") -> bytes:
    """The triple on one A4 landscape page (PDF bytes)."""
    from ..render.pdf import CJKParagraph, document_canvas  # CJKParagraph: the Chinese line-breaking rules

    esc = html.escape

    def u(x: str) -> str:
        return f"<u>\u00a0{esc(x)}\u00a0</u>"

    t = form.texts(view, u)
    raw = form.texts(view, lambda x: x)
    buf = io.BytesIO()
    c = document_canvas(buf, PAGE, "body")
    c.setTitle(form.name)
    c.setAuthor("docgen")
    c.setCreator("docgen")
    c.setProducer("docgen")
    c.setSubject("后续照管工作规范 " + form.name)
    boxes, cuts = panel_boxes()
    top = PAGE[1] - MARGIN_Y
    bottom = MARGIN_Y
    para = _style("body", BODY_PT, TA_JUSTIFY, indent=2)
    left = _style("body", BODY_PT, TA_LEFT)
    right = _style("body", BODY_PT, TA_RIGHT)
    centre = _style("body", BODY_PT, TA_CENTER)
    # one size for the three titles, each on one line (a supplement's "（补充）" makes them longer)
    panel_w = boxes[0][1] - boxes[0][0]
    title_pt = min([TITLE_PT] + [panel_w / _width(p.title + t["supp"], "title", 1.0) * 0.995
                                 for p in form.parts])
    title = _style("title", title_pt, TA_CENTER, leading=TITLE_PT * 1.4)
    number = esc(t["number"])
    stub, notice, receipt = form.parts
    supp = esc(t["supp"])
    # "（底联）" follows the counterfoil's title on its line, smaller (the appendix prints it on
    # the title line); only when the panel is too narrow for both does it take a line of its own
    stub_title = f"{esc(stub.title)}{supp}"
    stub_mark = ("（底联）", right, 0)
    if _width(stub.title + t["supp"], "title", title_pt) + _width("（底联）", "body", BODY_PT) <= panel_w:
        stub_title = _Markup(_rich(stub_title, "title", context) + _rich("（底联）", "body", context, BODY_PT))
        stub_mark = ("", right, 0)
    panels = [
        [(stub_title, title, 0), stub_mark, (f"编号：{number}", right, 4),
         (t["to_station"], left, 4), (t["msg_stub"], para, 1), (esc(stub.keep), centre, 5),
         (esc(t["date"]), right, 12)],
        [(f"{esc(notice.title)}{supp}", title, 0), ("", right, 0), (f"编号：{number}", right, 4),
         (t["to_station"], left, 4), (t["msg_notice"], para, 1), (esc(notice.keep), centre, 5),
         (esc(raw["seal_institution"]), right, 12), (esc(t["date"]), right, 2)],
        [(f"{esc(receipt.title)}{supp}", title, 0), ("", right, 0), ("", right, 4),
         (t["to_institution"], left, 4), (t["msg_receipt"], para, 1), (esc(receipt.keep), centre, 5),
         ("查收人：" + FULL_SPACE * 6, left, 12), (esc(raw["seal_station"]), right, 6),
         (esc(raw["receipt_date"]), right, 2)],
    ]
    for (x0, x1), items in zip(boxes, panels):
        y = top
        w = x1 - x0
        for text, style, space in items:
            y -= space * mm
            if not text:
                y -= style.leading
                continue
            markup = text if isinstance(text, _Markup) else _rich(text, "title" if style is title else "body", context)
            p = CJKParagraph(markup, style)
            _, h = p.wrap(w, y - bottom)
            p.drawOn(c, x0, y - h)
            y -= h
    # cut lines with the number across them (骑缝)
    seam = view.get("number") or BLANK_NUMBER
    size = 12.0
    step = size * 1.15
    chars = [ch for ch in "编号" + seam if ch != FULL_SPACE] if view.get("number") else list(seam)
    span = step * len(chars)
    y_start = (top + bottom) / 2 + span / 2
    for x in cuts:
        c.saveState()
        c.setLineWidth(0.6)
        c.setDash(4, 3)
        c.line(x, bottom, x, top)
        c.restoreState()
        for i, ch in enumerate(chars):
            if ch == FULL_SPACE:
                continue
            _draw_string(c, x, y_start - (i + 1) * step + 0.2 * size, ch, "body", size, context, "center")
    c.showPage()
    c.save()
    return buf.getvalue()


def _enclosure_form(form):
    """An enclosure's form: the form itself, or its code as the stored view names it."""
    if isinstance(form, str):
        from ..errors import DocgenError
        from .registry import all_forms

        found = all_forms().get(form)
        if found is None:
            raise DocgenError(f"通知书所附表单 {form} 已不存在，无法生成")
        return found
    return form


# --------------------------------------------------------------------------- 作废 mark

VOID_GRAY = 0.45  # the mark's gray (DeviceGray, like the forms' black): legible over the text


def void_note(void: dict) -> str:
    return (f"本通知书已于 {void.get('date', '')} 作废（原因：{void.get('reason', '')}），不得寄发或作为凭据使用")


def void_overlay(width: float, height: float, void: dict) -> bytes:
    """One page of the given size: a large diagonal 作废 (outlined, so the text under it
    stays legible) and the date and reason in the top and bottom margins. Real text in the
    body font: it is extractable and searchable."""
    import math

    from ..render.pdf import document_canvas

    buf = io.BytesIO()
    c = document_canvas(buf, (width, height), "title")
    size = min(width, height) * 0.30
    angle = math.degrees(math.atan2(height, width))
    c.saveState()
    c.setStrokeGray(VOID_GRAY)
    c.setFillGray(VOID_GRAY)
    c.setLineWidth(2.5)
    c.translate(width / 2, height / 2)
    c.rotate(angle)
    from ..render.fonts import split_runs

    runs = split_runs("作废", "title", "作废")
    total = sum(stringWidth(t, f, size) for f, t in runs)
    x = -total / 2
    for font, run in runs:
        t = c.beginText(x, -size * 0.35)
        t.setFont(font, size)
        t.setTextRenderMode(1)  # stroke only
        t.textOut(run)
        c.drawText(t)
        x += stringWidth(run, font, size)
    c.restoreState()
    note = "【作废】" + void_note(void)
    c.setFillGray(0)
    fit = min(10.0, (width - 16 * mm) / max(_width(note, "body", 1.0), 1))
    _draw_string(c, width / 2, height - 7 * mm, note, "body", fit, "作废", "center")
    _draw_string(c, width / 2, 4 * mm, note, "body", fit, "作废", "center")
    c.showPage()
    c.save()
    return buf.getvalue()


def void_pdf(pdf: bytes, void: dict, title: str) -> bytes:
    """``pdf`` with the 作废 mark on every page (deterministic, like ``merge_pdfs``)."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(pdf))
    w = PdfWriter()
    w.append(reader)
    overlays: dict[tuple, object] = {}
    for page in w.pages:
        size = (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2))
        if size not in overlays:
            overlays[size] = PdfReader(io.BytesIO(void_overlay(*size, void))).pages[0]
        page.merge_page(overlays[size])
    w.add_metadata({"/Title": f"{title}（作废）", "/Author": "docgen", "/Creator": "docgen", "/Producer": "docgen"})
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def void_docx(data: bytes, void: dict) -> bytes:
    """The DOCX with the 作废 note (date, reason) in every page header."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    from ..render.docx import _set_run_font
    from ..render.ooxml import normalise_zip

    doc = docx.Document(io.BytesIO(data))
    for section in doc.sections:
        p = section.header.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run("【作废】" + void_note(void))
        run.bold = True
        _set_run_font(run, "body", 9)
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())


def merge_pdfs(parts: list[bytes], title: str) -> bytes:
    """Concatenate PDFs (pypdf), deterministic metadata."""
    from pypdf import PdfWriter

    w = PdfWriter()
    for data in parts:
        w.append(io.BytesIO(data))
    w.add_metadata({"/Title": title, "/Author": "docgen", "/Creator": "docgen", "/Producer": "docgen"})
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


# --------------------------------------------------------------------------- form F


def _roster_table(columns: list[tuple[str, str, float]], size: float = 10) -> Table:
    header = Row([L(label) for label, _, _ in columns], 9, header=True)
    body = Row([V(f"r.{key}", align="center" if key not in ("household", "cult_unit") else "left")
                for _, key, _ in columns], 8)
    return Table([w for _, _, w in columns], [header, Loop("r", "roster", body)], size=size)


class NoticeF(NoticeForm):
    code = "F"
    name = "预解戒人员信息对接通知书"
    series = "F"
    parts = (Part("底联", "预解戒人员信息对接通知书", "（此联与回执一并留存）"),
             Part("通知书", "预解戒人员信息对接通知书", "（此联由后续照管指导站收存）"),
             Part("回执", "预解戒人员信息对接回执", "（此联由戒毒所收存）"))
    roster_title = "预解戒人员花名册"
    roster_columns = (("序号", "i", 5), ("姓　名", "name", 13), ("性别", "sex", 6), ("出生年月", "birth", 13),
                      ("身份证号码", "id_number", 26), ("户籍所在地", "household", 52), ("出所时间", "release", 17),
                      ("服务协议", "agreement", 11))
    roster_total = "共{{ count | blank(2) }}人，其中已签订《后续照管服务协议书》{{ signed | blank(2) }}人。"

    def message(self, v: dict, u, full: bool) -> str:
        n = u(v["count"]) if v.get("count") else BLANK
        m = u(v["signed"]) if v.get("signed") else BLANK
        text = (f"我所下月解除强制隔离戒毒人员中，按户籍地划分，共有{n}人属于你站后续照管对象，"
                f"其中有{m}人在我所已签订了《后续照管服务协议书》。现根据省戒毒管理局相关规定，"
                "将上述人员花名册及相关人员《后续照管服务协议书》、《预解戒人员后续照管信息对接表》"
                "等文书资料一并寄送你站，请注意核对查收。如无误请将回执联盖章后寄回我所")
        if not full:
            return text + "。"
        contact, phone, _ = self.filled(v, u)
        return text + f"；如有疑问，请及时与我所{contact}联系，联系电话：{phone}。"

    def receipt_message(self, v: dict, u) -> str:
        number = self.filled(v, u)[2]
        return f"你所寄发的《预解戒人员信息对接通知书》（{number}）及相关文书资料已查收，无误。"

    def enclosures(self, ds: Dataset, people: list) -> list:
        signed = [p.id for p in people if p.agreement]
        return (enclosure_views(ds, "E", signed) + enclosure_views(ds, "D", [p.id for p in people])
                + card_enclosures(ds, people))

    def selects(self, p, institution_id: str) -> bool:
        return True


def household_city(p) -> str:
    return split_address(p.household)[1]
