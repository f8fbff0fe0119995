"""Reporting periods: a month, a quarter or a year."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Period:
    """A reporting period: a month (``2026-11``), a quarter (``2026-Q4``) or a year (``2026``)."""

    year: int
    month: int | None = None
    quarter: int | None = None

    @classmethod
    def parse(cls, text: str) -> "Period":
        import re

        from ..errors import UsageError

        t = text.strip()
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
            if 1 <= int(m[2]) <= 12:
                return cls(int(m[1]), month=int(m[2]))
        if m := re.fullmatch(r"(\d{4})-?[Qq]([1-4])", t):
            return cls(int(m[1]), quarter=int(m[2]))
        if re.fullmatch(r"\d{4}", t):
            return cls(int(t))
        raise UsageError(f"期间“{text}”格式不对：月份写 2026-11，季度写 2026-Q4，年度写 2026")

    @property
    def key(self) -> str:
        if self.month:
            return f"{self.year:04d}-{self.month:02d}"
        if self.quarter:
            return f"{self.year:04d}-Q{self.quarter}"
        return f"{self.year:04d}"

    @property
    def first_day(self) -> dt.date:
        if self.month:
            return dt.date(self.year, self.month, 1)
        if self.quarter:
            return dt.date(self.year, 3 * self.quarter - 2, 1)
        return dt.date(self.year, 1, 1)

    @property
    def last_day(self) -> dt.date:
        if self.month:
            nxt = dt.date(self.year + (self.month == 12), self.month % 12 + 1, 1)
        elif self.quarter:
            m = 3 * self.quarter
            nxt = dt.date(self.year + (m == 12), m % 12 + 1, 1)
        else:
            nxt = dt.date(self.year + 1, 1, 1)
        return nxt - dt.timedelta(days=1)

    def months(self) -> list["Period"]:
        if self.month:
            return [self]
        if self.quarter:
            return [Period(self.year, month=m) for m in range(3 * self.quarter - 2, 3 * self.quarter + 1)]
        return [Period(self.year, month=m) for m in range(1, 13)]

    def as_month(self) -> "Period":
        """The last month of the period (quarterly/annual forms report as of its end)."""
        return Period(self.year, month=self.last_day.month)

    def previous_month(self) -> "Period":
        m = self.as_month()
        return Period(m.year - (m.month == 1), month=12 if m.month == 1 else m.month - 1)

    def __str__(self) -> str:
        if self.month:
            return f"{self.year}年{self.month}月"
        if self.quarter:
            return f"{self.year}年第{self.quarter}季度"
        return f"{self.year}年"
