"""Small PDF and .docx files made in the tests (pypdf and python-docx): no binary fixture."""

from __future__ import annotations

import io
import zipfile

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject


def _pdf_string(text: str) -> bytes:
    return text.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def make_pdf(pages: list[str], *, password: str | None = None, comment: str | None = None,
             scanned_page: bool = False) -> bytes:
    """A PDF with one line of Helvetica text per page; optionally encrypted, with a comment
    (a Text annotation) on the first page, or with a last page that is only an image (a scan)."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    for text in pages:
        page = writer.add_blank_page(595, 842)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        stream = DecodedStreamObject()
        stream.set_data(b"BT /F1 11 Tf 56 780 Td (" + _pdf_string(text) + b") Tj ET")
        page[NameObject("/Contents")] = writer._add_object(stream)
    if scanned_page:
        page = writer.add_blank_page(595, 842)
        image = DecodedStreamObject()
        image.set_data(bytes(range(256)) * 3)  # 16 x 16 RGB
        image.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                      NameObject("/Width"): _num(16), NameObject("/Height"): _num(16),
                      NameObject("/ColorSpace"): NameObject("/DeviceRGB"), NameObject("/BitsPerComponent"): _num(8)})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): DictionaryObject(
            {NameObject("/Im1"): writer._add_object(image)})})
        stream = DecodedStreamObject()
        stream.set_data(b"q 595 0 0 842 0 0 cm /Im1 Do Q")
        page[NameObject("/Contents")] = writer._add_object(stream)
    if comment is not None:
        from pypdf.annotations import Text

        writer.add_annotation(page_number=0, annotation=Text(rect=(50, 700, 80, 730), text=comment))
    if password is not None:
        writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _num(value: int):
    from pypdf.generic import NumberObject

    return NumberObject(value)


def make_docx(paragraphs: list[str], *, table: list[list[str]] | None = None, header: str | None = None,
              footer: str | None = None, comment: str | None = None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    if header is not None:
        document.sections[0].header.paragraphs[0].text = header
    if footer is not None:
        document.sections[0].footer.paragraphs[0].text = footer
    if comment is not None:
        run = document.add_paragraph().add_run("Voir le commentaire.")
        document.add_comment(run, text=comment, author="Relecteur")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def with_zip_entry(package: bytes, name: str, data: bytes) -> bytes:
    """The same ZIP package with one more entry (an embedded object, a huge part...)."""
    src = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(name, data)
    return out.getvalue()


def replace_zip_entry(package: bytes, name: str, data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, data if info.filename == name else src.read(info))
    return out.getvalue()
