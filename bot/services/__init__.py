"""Use cases that change things: plans, figures, imports, people, notices."""
