"""Inbound connectors: one module per platform, each normalising to `CommentReceived`."""
