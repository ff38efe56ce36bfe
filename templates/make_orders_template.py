"""Build templates/orders.xlsx (package data ``sync.templates``) from mappings/orders.yaml.

Run after changing the default mapping:  python templates/make_orders_template.py

The template holds only what openpyxl keeps on every save (header, widths, frozen pane, fills):
dropdowns and status colours are laid out by the backend itself from the config.
"""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sync.backends.base import OZON_SHADE  # noqa: E402
from sync.mapping import load_columns  # noqa: E402
from sync.model import Owner  # noqa: E402

WORKSHEET = "Заказы"


def build(mapping: Path, out: Path) -> None:
    columns = load_columns(mapping)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = WORKSHEET
    shade = PatternFill(start_color=OZON_SHADE, end_color=OZON_SHADE, fill_type="solid")
    for i, col in enumerate(columns.columns, start=1):
        cell = ws.cell(row=1, column=i, value=col.header)
        cell.font = Font(b=True)
        if col.owner in (Owner.OZON, Owner.KEY):
            cell.fill = shade
        dim = ws.column_dimensions[get_column_letter(i)]
        if col.width:
            dim.width = col.width
        if col.format == "text" and col.owner in (Owner.KEY, Owner.BOTH):
            dim.number_format = "@"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns.columns))}1"
    wb.save(out)


if __name__ == "__main__":
    build(HERE.parent / "mappings" / "orders.yaml", HERE / "orders.xlsx")
    print(f"wrote {HERE / 'orders.xlsx'}")
