"""Benchmarks for the figures of DESIGN.md section 7; `make bench` prints one JSON object."""
