"""Kafka plumbing shared by the services: the broker profile, client factories, the embedded broker, the DLQ."""
