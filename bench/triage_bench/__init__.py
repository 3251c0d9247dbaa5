"""Benchmarks of the services through their public interfaces, and a local Apache Kafka to run them on."""
