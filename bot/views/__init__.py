"""The leaders' read side: progress, reporting rates, provenance, recipients."""
