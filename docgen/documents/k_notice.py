"""Appendix K 戒毒典型培育对象信息对接通知书: the three-part notice about the people an
institution chose for 典型培育 (cultivation), drawn like appendix F (see ``f_notice``)."""
from __future__ import annotations

from ..records.load import Dataset
from .f_notice import BLANK, FULL_SPACE, NoticeForm, Part


class NoticeK(NoticeForm):
    code = "K"
    name = "戒毒典型培育对象信息对接通知书"
    series = "K"
    parts = (Part("底联", "培育对象信息对接通知书", "（此联与回执一并留存）"),
             Part("通知书", "典型培育对象信息对接通知书", "（此联由后续照管指导站收存）"),
             Part("回执", "培育对象信息对接回执", "（此联由戒毒所收存）"))
    roster_title = "戒毒典型培育对象花名册"
    roster_columns = (("序号", "i", 5), ("姓　名", "name", 13), ("性别", "sex", 6), ("出生年月", "birth", 13),
                      ("身份证号码", "id_number", 26), ("户籍所在地", "household", 44), ("出所时间", "release", 17),
                      ("培育责任人", "mentor", 12), ("培育协议日期", "cult_signed", 17))
    roster_total = "共{{ count | blank(2) }}人。"

    def message(self, v: dict, u, full: bool) -> str:
        names = u(v["names"]) if v.get("names") else FULL_SPACE * 4
        n = u(v["count"]) if v.get("count") else BLANK
        text = (f"我所即将解除强制隔离戒毒人员中，按户籍地划分，属于你站的{names}等{n}人已被我所列为典型培育对象。"
                "现根据省戒毒管理局相关规定，将上述人员花名册寄送你站，请注意核对查收。"
                "如无误请将回执联盖章后寄回我所")
        if not full:
            return text + "。"
        contact, phone, _ = self.filled(v, u)
        return text + f"；如有疑问请及时与我所{contact}联系，联系电话：{phone}。"

    def receipt_message(self, v: dict, u) -> str:
        number = self.filled(v, u)[2]
        return f"你所寄发的《典型培育对象信息对接通知书》（{number}）等资料已查收，无误。"

    def enclosures(self, ds: Dataset, people: list) -> list:
        # appendix K: "将上述人员花名册寄送你站" - the roster is the only enclosure
        return []

    def selects(self, p, institution_id: str) -> bool:
        c = p.cultivation
        return c is not None and c.unit == institution_id
