"""Write cells into one worksheet of an .xlsx/.xlsm workbook by patching that worksheet's XML.

Loading a workbook with openpyxl and saving it again is slow and drops whatever openpyxl does not model
(pictures, charts, pivot tables, macros, extension blocks, LibreOffice's empty drawing parts...). This
package leaves the workbook what it is, a zip of XML parts, and changes only the part it must:

* the zip is read with :mod:`zipfile`, but the new zip is written here: every member that does not change
  is copied as its original compressed bytes (same name, order, compression and CRC); only changed parts
  are deflated again;
* the worksheet XML is never parsed as a whole. ``<sheetData>`` is located in the bytes and split at its
  ``<row`` start tags; only the rows that change are taken apart into their cells (plain bytes as well),
  rebuilt and spliced back, so every other row keeps its bytes. A sync of a few cells on a sheet of ten
  thousand rows costs little more than inflating and deflating that one part;
* strings are written as inline strings, so ``xl/sharedStrings.xml`` is never touched, and
  ``xl/styles.xml`` is never changed: a cell keeps its style index, and a new cell borrows the one of its
  column (``<col style>``), of its row when that row is formatted, or of the cell above it;
* around the rows, ``<dimension>`` and the sheet's ``<autoFilter>`` follow the data, and deleting rows also
  moves merged ranges, hyperlinks and the notes on the sheet;
* a cell written as a :class:`Link` becomes a real hyperlink (no formula): a ``<hyperlink>`` in the sheet and
  an external relationship in the sheet's rels part (created when the sheet has none), the cell's old link and
  its relationship removed; deleting rows removes the relationships of the hyperlinks that go with them.

A few other parts change, only when they would otherwise contradict the worksheet:

* ``xl/workbook.xml`` when the filter range changes: its hidden ``_xlnm._FilterDatabase`` name repeats
  the range, and LibreOffice takes the filter range from that name rather than from the sheet;
* ``xl/calcChain.xml`` when a formula cell is overwritten or rows holding formulas are deleted or moved:
  Excel reports a damaged workbook when that chain names a cell without a formula. When no entry is left,
  the part goes, with its line in ``[Content_Types].xml`` and its relationship in the workbook's rels;
* for row deletion, the sheet's comments part, its VML drawing (the note boxes) and threaded comments.

Formulas elsewhere that refer to deleted or moved rows are not rewritten (openpyxl does not either).
The modules: ``package`` (the zip, relationships, the workbook's tabs), ``markup`` (references, ranges and
attributes as bytes), ``sheet`` (a worksheet split into rows and cells), ``cells`` (cell XML for values),
``dependents`` (filter name, calculation chain), ``links`` (hyperlinks and their relationships), ``read``,
``write`` and ``delete`` (the functions below).
"""

from sync.backends.xlsx.cells import MAX_CELL_CHARS, Value
from sync.backends.xlsx.delete import delete_rows
from sync.backends.xlsx.errors import PatchError
from sync.backends.xlsx.links import Link, link_target
from sync.backends.xlsx.package import SheetPart
from sync.backends.xlsx.read import last_used_row, merged_ranges, note_text, sheets
from sync.backends.xlsx.write import patch, replace_sheet_rows

__all__ = [
    "MAX_CELL_CHARS",
    "Link",
    "PatchError",
    "SheetPart",
    "Value",
    "delete_rows",
    "last_used_row",
    "link_target",
    "merged_ranges",
    "note_text",
    "patch",
    "replace_sheet_rows",
    "sheets",
]
