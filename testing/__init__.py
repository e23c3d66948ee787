"""The test bed: real registries on loopback, deterministic multi-arch images, mirrors.

Used by the tests, the offline demo (`python -m testing.demo`) and the benchmark.
"""
