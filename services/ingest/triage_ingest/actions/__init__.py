"""Outbound actions: executing `ActionRequested` against the platform APIs."""
