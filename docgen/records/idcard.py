"""Resident identity card numbers (GB 11643-1999) and masking."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_OLD_ID_RE = re.compile(r"^[0-9]{15}$")


def check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


class IdNumberError(ValueError):
    pass


def normalize_id(number: str) -> str:
    """An ID number as typed, with full-width digits (３２０１…), a full-width or lowercase x and
    blanks (around it, or between its digit groups as printed on some forms: 3201 0619 …) made
    plain: ``320102…X``."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(number))).upper()


def parse_id(number: str) -> tuple[dt.date, str]:
    """Validate an 18-digit ID number; return (birth date, sex 男/女).

    Raises IdNumberError with a Chinese message.
    """
    number = normalize_id(number)
    if _OLD_ID_RE.match(number):
        raise IdNumberError("这是 15 位的旧身份证号码，请填写 18 位的公民身份号码（第二代居民身份证上的号码）")
    if not _ID_RE.match(number):
        raise IdNumberError(f"身份证号码应为 18 位（前 17 位为数字，最后一位为数字或 X），实为 {len(number)} 位"
                            if len(number) != 18 else
                            "身份证号码应为 18 位（前 17 位为数字，最后一位为数字或 X），其中有数字以外的字符")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(f"身份证号码中的出生日期 {number[6:10]}-{number[10:12]}-{number[12:14]} 不存在") from None
    if birth > dt.date.today():
        raise IdNumberError(f"身份证号码中的出生日期 {birth.isoformat()} 晚于今天（请核对第 7–14 位）")
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise IdNumberError(f"身份证号码校验码错误：最后一位应为 {expected}，实为 {number[17]}（请核对每一位数字）")
    sex = "男" if int(number[16]) % 2 == 1 else "女"
    return birth, sex


def mask_id(number: str | None) -> str:
    """Mask an ID number for logs and messages: first 4 and last 2 digits only."""
    if not number:
        return ""
    n = str(number)
    if len(n) <= 6:
        return "*" * len(n)
    return n[:4] + "*" * (len(n) - 6) + n[-2:]


_ID_IN_TEXT = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")


def mask_ids_in_text(text: str) -> str:
    """Mask every 18-digit ID-like number in a free text (log lines)."""
    return _ID_IN_TEXT.sub(lambda m: mask_id(m.group(0)), text)
