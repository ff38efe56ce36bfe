"""A minimal valid PDF written by hand (one page per title, Helvetica text lines): what the emulator
answers for labels and hand-over documents, so a reader (``pdftotext``) shows the posting numbers."""

from __future__ import annotations

from collections.abc import Sequence


def _escape(text: str) -> str:
    """A PDF string literal's body; characters outside Latin-1 become ``?`` (Helvetica has no Cyrillic)."""
    latin = text.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one page per item of ``pages``, each a list of text lines from the top."""
    pages = [list(lines) for lines in pages] or [[]]
    count = len(pages)
    # objects: 1 catalog, 2 page tree, 3 font, then a page and its content stream per page
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, lines in enumerate(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 283 425] /Resources << /Font << /F1 3 0 R "
                       f">> >> /Contents {5 + 2 * i} 0 R >>".encode())
        text = "".join(f"({_escape(line)}) Tj T* " for line in lines)
        stream = f"BT /F1 12 Tf 14 TL 20 395 Td {text}ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
