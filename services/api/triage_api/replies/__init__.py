"""Replies: the template catalogue, sandboxed rendering, per-account variables and the PHI guard."""
