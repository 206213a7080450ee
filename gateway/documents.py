"""The text of PDF and Word (.docx) documents, so that an uploaded file is inspected like typed text.

``read_document(raw)`` recognises a document by its content (not by the name or the type the client
gave it): ``%PDF-`` for a PDF (read with pypdf), a ZIP package holding ``word/document.xml`` for a
.docx (read with python-docx). It returns None for anything else (the caller goes on as before), or
a ``Document``: the pieces of text read, and whether something of it could not be read.

What is read: a PDF's page text, its form fields' values and its annotations (comments); a .docx's
body, tables, text boxes, headers, footers, footnotes, endnotes and comments. Left unread, and so
reported (``unread``: the request is then uninspectable and follows ``policy.uninspectable``): an
encrypted document, one that fails to parse, a PDF page that has images and no text (a scan), files
attached to a PDF, objects embedded in a .docx (a spreadsheet...), and whatever lies past the
bounds: ``MAX_PAGES`` pages, ``MAX_CHARS`` characters, ``BUDGET_S`` seconds of reading, a .docx
package over ``MAX_UNZIPPED`` bytes or ``MAX_ENTRIES`` entries (a ZIP bomb). Nothing is ever cut
silently: a document read in part is reported as such.

Images inside a document (a logo beside text, a photo) are not read: their text is not seen, as for
images sent on their own.
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from dataclasses import dataclass, field

log = logging.getLogger("gardefou.documents")

MAX_PAGES = 500
MAX_CHARS = 1_000_000
BUDGET_S = 5.0
MAX_UNZIPPED = 50 * 1024 * 1024
MAX_ENTRIES = 5000

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
#: the parts of a .docx package that carry text (by content type)
_WORD_TEXT_PARTS = tuple(
    f"application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}+xml"
    for kind in ("document.main", "header", "footer", "footnotes", "endnotes", "comments"))


@dataclass
class Document:
    kind: str  # "pdf" or "docx"
    parts: list[str] = field(default_factory=list)
    #: something of the document was not read (encrypted, malformed, a scanned page, past a bound...)
    unread: bool = False
    chars: int = 0

    def add(self, text: str | None) -> bool:
        """Keep a piece of text; False once ``MAX_CHARS`` is reached (the rest is then unread)."""
        if not text or text.isspace():
            return True
        if self.chars + len(text) > MAX_CHARS:
            self.unread = True
            return False
        self.parts.append(text)
        self.chars += len(text)
        return True


def is_pdf(raw: bytes) -> bool:
    return raw[:1024].lstrip(b"\x00\t\n\r\x0c ").startswith(b"%PDF-")


def is_docx(raw: bytes) -> bool:
    if not raw.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            return "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def read_document(raw: bytes) -> Document | None:
    """The text of a PDF or a .docx, or None when ``raw`` is neither."""
    if is_pdf(raw):
        return _guarded(Document("pdf"), _read_pdf, raw)
    if is_docx(raw):
        return _guarded(Document("docx"), _read_docx, raw)
    return None


def _guarded(doc: Document, reader, raw: bytes) -> Document:
    try:
        reader(raw, doc, time.monotonic() + BUDGET_S)
    except Exception as exc:  # a document that cannot be read is uninspectable, never skipped
        log.info("%s document not readable (%s): uninspectable", doc.kind, type(exc).__name__)
        doc.unread = True
    return doc


def _read_pdf(raw: bytes, doc: Document, deadline: float) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(raw), strict=False)
    if reader.is_encrypted:
        doc.unread = True
        return
    pages = reader.pages
    if len(pages) > MAX_PAGES:
        doc.unread = True
        return
    if reader.attachments:  # files attached to the PDF: not opened
        doc.unread = True
    for page in pages:
        if time.monotonic() > deadline:
            doc.unread = True
            return
        text = page.extract_text() or ""
        if not text.strip() and _has_graphics(page):
            doc.unread = True  # a scanned page: its text is in an image
        if not doc.add(text):
            return
        for annot in page.get("/Annots") or []:
            contents = annot.get_object().get("/Contents")
            if contents is not None and not doc.add(str(contents)):
                return
    for name, value in (reader.get_form_text_fields() or {}).items():
        if not doc.add(str(name)) or (value is not None and not doc.add(str(value))):
            return


def _has_graphics(page) -> bool:
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else {}
    xobjects = resources.get("/XObject") if resources else None
    return bool(xobjects and len(xobjects.get_object()))


def _read_docx(raw: bytes, doc: Document, deadline: float) -> None:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        infos = z.infolist()
        if len(infos) > MAX_ENTRIES or sum(i.file_size for i in infos) > MAX_UNZIPPED:
            doc.unread = True  # a ZIP bomb, or simply too large to read whole
            return
        if any(i.filename.startswith("word/embeddings/") for i in infos):
            doc.unread = True  # embedded objects (a spreadsheet, another document): not opened
    import docx

    package = docx.Document(io.BytesIO(raw)).part.package
    for part in package.iter_parts():
        if part.content_type not in _WORD_TEXT_PARTS:
            continue
        if time.monotonic() > deadline:
            doc.unread = True
            return
        element = getattr(part, "element", None)
        if element is None:
            from docx.oxml.parser import parse_xml

            element = parse_xml(part.blob)
        paragraphs: dict[object, list[str]] = {}  # each piece of text under its own paragraph (text
        for node in element.iter(f"{_W}t", f"{_W}tab", f"{_W}br"):  # boxes hold paragraphs of their own)
            owner = next(node.iterancestors(f"{_W}p"), None)
            paragraphs.setdefault(owner, []).append((node.text or "") if node.tag == f"{_W}t" else " ")
        for pieces in paragraphs.values():
            if not doc.add("".join(pieces)):
                return
