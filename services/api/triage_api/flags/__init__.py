"""Flags: comments the classifier says need a human."""
