"""A minimal OpenDocument spreadsheet (``.ods``) writer on the standard library: a zip holding the
``mimetype`` (first, uncompressed, as the format requires), the manifest, ``meta.xml``, ``styles.xml``
and ``content.xml``. Cells are text, numbers or dates (shown ``JJ/MM/AAAA``); the first row of each
sheet is a bold header. Enough for the register and the weekly summary; LibreOffice and Excel open it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from xml.sax.saxutils import escape, quoteattr

Cell = str | int | float | date | None
MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)

_MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{MIMETYPE}"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""

_STYLES = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles {_NS} office:version="1.2"><office:styles>
<style:style style:name="Default" style:family="table-cell"/>
</office:styles></office:document-styles>
"""

_AUTOMATIC = "".join((
    "<office:automatic-styles>",
    '<number:date-style style:name="N1"><number:day number:style="long"/><number:text>/</number:text>',
    '<number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/>',
    "</number:date-style>",
    '<style:style style:name="ce-date" style:family="table-cell" style:parent-style-name="Default" '
    'style:data-style-name="N1"/>',
    '<style:style style:name="ce-head" style:family="table-cell" style:parent-style-name="Default">'
    '<style:text-properties fo:font-weight="bold"/></style:style>',
    '<style:style style:name="ce-text" style:family="table-cell" style:parent-style-name="Default">'
    '<style:table-cell-properties fo:wrap-option="wrap"/></style:style>',
    '<style:style style:name="co" style:family="table-column">'
    '<style:table-column-properties style:column-width="4.5cm"/></style:style>',
    "</office:automatic-styles>",
))


def _text(value: str) -> str:
    # one paragraph per line; the characters XML 1.0 cannot hold are dropped
    clean = "".join(c for c in value if c in "\t\n" or ord(c) >= 0x20)
    return "".join(f"<text:p>{escape(line)}</text:p>" for line in clean.split("\n"))


def _cell(value: Cell, head: bool) -> str:
    if value is None or value == "":
        return "<table:table-cell/>"
    if head:
        return f'<table:table-cell table:style-name="ce-head" office:value-type="string">{_text(str(value))}</table:table-cell>'
    if isinstance(value, bool):
        value = "oui" if value else "non"
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return (f'<table:table-cell table:style-name="ce-date" office:value-type="date" '
                f'office:date-value="{value.isoformat()}"><text:p>{value:%d/%m/%Y}</text:p></table:table-cell>')
    if isinstance(value, int | float):
        return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
    return f'<table:table-cell table:style-name="ce-text" office:value-type="string">{_text(str(value))}</table:table-cell>'


def write_ods(sheets: Sequence[tuple[str, Sequence[Sequence[Cell]]]], title: str = "") -> bytes:
    """The ``.ods`` file of ``sheets`` (name, rows; the first row of each is its header)."""
    body = []
    for name, rows in sheets:
        width = max((len(r) for r in rows), default=1)
        body.append(f"<table:table table:name={quoteattr(name[:31])}>"
                    f'<table:table-column table:style-name="co" table:number-columns-repeated="{width}"/>')
        for i, row in enumerate(rows):
            body.append("<table:table-row>" + "".join(_cell(v, i == 0) for v in row) + "</table:table-row>")
        body.append("</table:table>")
    content = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_NS} office:version="1.2">'
               f"{_AUTOMATIC}<office:body><office:spreadsheet>{''.join(body)}</office:spreadsheet></office:body>"
               "</office:document-content>\n")
    meta = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta {_NS} office:version="1.2"><office:meta>'
            f"<meta:generator>Garde-fou</meta:generator><dc:title>{escape(title)}</dc:title>"
            "</office:meta></office:document-meta>\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        for name, data in (("META-INF/manifest.xml", _MANIFEST), ("styles.xml", _STYLES), ("meta.xml", meta),
                           ("content.xml", content)):
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()
