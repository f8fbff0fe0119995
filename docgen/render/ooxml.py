"""Deterministic Office Open XML packages (DOCX, XLSX)."""
from __future__ import annotations

import io
import re
import zipfile

_FIXED = (2020, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def normalise_zip(data: bytes) -> bytes:
    """Rewrite a DOCX/XLSX zip with fixed timestamps, member order and modes, and a fixed
    ``dcterms:modified`` (openpyxl stamps the save time there), so equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(src.namelist(), key=lambda n: (n != "[Content_Types].xml", n)):
            info = zipfile.ZipInfo(name, date_time=_FIXED)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            body = src.read(name)
            if name == "docProps/core.xml":
                body = _MODIFIED.sub(rb"\g<1>2020-01-01T00:00:00Z\g<2>", body)
            dst.writestr(info, body)
    return out.getvalue()
