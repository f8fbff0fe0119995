"""Compressed object streams for reportlab documents (PDF 1.5).

reportlab writes every object as plain text and a classic cross-reference table. In a
form, the dictionaries (pages, fonts, descriptors, widths, info, catalog) and that table
are 3–4 KiB that compress to a few hundred bytes. For a canvas marked with ``enable``,
the document is written with all non-stream objects in one compressed object stream and
a compressed cross-reference stream; streams (page contents, fonts, images) stay where
they were. The output is deterministic like reportlab's own (invariant mode).

Sign artwork is not marked: print production files keep the classic structure.
"""
from __future__ import annotations

import zlib
from struct import pack

_FLAG = "_docgen_object_streams"
_patched = False


def enable(canvas) -> None:
    """Write this canvas's document with object streams."""
    _patch()
    setattr(canvas._doc, _FLAG, True)


def _patch() -> None:
    global _patched
    if _patched:
        return
    from reportlab.pdfbase import pdfdoc

    plain_format = pdfdoc.PDFDocument.format

    def format(self):
        if not getattr(self, _FLAG, False) or self.encrypt.info() or getattr(self, "_digiSigs", None):
            return plain_format(self)
        return _format(self)

    pdfdoc.PDFDocument.format = format
    _patched = True


def _format(doc) -> bytes:
    from reportlab.pdfbase.pdfdoc import PDFFile, format as pdf_format

    doc.encrypt.prepare(doc)
    catalog_ref = doc.Reference(doc.Catalog)
    info_ref = doc.Reference(doc.info)
    out = PDFFile(max(tuple(doc._pdfVersion), (1, 5)))
    doc._PDFDocument__accum__ = out  # as reportlab's own format: objects may look at it
    entries: dict[int, tuple[int, int]] = {}  # object number → (1, file offset) | (2, index in stream)
    packed: list[tuple[int, bytes]] = []
    number = 0
    try:
        while True:  # objects may register more objects while they are formatted
            number += 1
            oid = doc.numberToId.get(number)
            if oid is None:
                break
            n, v = doc.idToObjectNumberAndVersion[oid]
            doc.encrypt.register(n, v)
            body = pdf_format(doc.idToObject[oid], doc, toplevel=1)
            if body.rstrip().endswith(b"endstream"):
                entries[number] = (1, out.add(b"%d 0 obj\n%s%sendobj\n" % (
                    number, body, b"" if body.endswith(b"\n") else b"\n")))
            else:
                entries[number] = (2, len(packed))
                packed.append((number, body.strip()))
    finally:
        del doc._PDFDocument__accum__
    count = number - 1
    stream_number, xref_number = count + 1, count + 2

    header = b" ".join(b"%d %d" % (n, off) for n, off in _offsets(packed)) + b"\n"
    data = header + b"\n".join(body for _, body in packed)
    compressed = zlib.compress(data)
    stream_offset = out.add(b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n"
                            b"stream\n%s\nendstream\nendobj\n"
                            % (stream_number, len(packed), len(header), len(compressed), compressed))
    xref_offset = out.offset
    rows = [pack(">BIH", 0, 0, 0xFFFF)]
    for n in range(1, count + 1):
        kind, value = entries[n]
        rows.append(pack(">BIH", 1, value, 0) if kind == 1 else pack(">BIH", 2, stream_number, value))
    rows.append(pack(">BIH", 1, stream_offset, 0))
    rows.append(pack(">BIH", 1, xref_offset, 0))
    xref = zlib.compress(b"".join(rows))
    file_id = doc.ID().split(b"%", 1)[0].strip()
    out.add(b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root %s /Info %s /ID %s /Filter /FlateDecode"
            b" /Length %d >>\nstream\n%s\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n"
            % (xref_number, xref_number + 1, pdf_format(catalog_ref, doc), pdf_format(info_ref, doc), file_id,
               len(xref), xref, xref_offset))
    return out.format(doc)


def _offsets(packed: list[tuple[int, bytes]]):
    offset = 0
    for number, body in packed:
        yield number, offset
        offset += len(body) + 1  # the newline after each object
