"""ozon-sheet-sync: mirror Ozon postings into a spreadsheet and push staff status edits back."""

__version__ = "0.1.0"
