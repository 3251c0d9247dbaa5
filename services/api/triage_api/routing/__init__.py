"""Routing: which team and which person a new flag goes to."""
