"""Presentation: text, charts, the workbook and CSV, in the reader's language."""
