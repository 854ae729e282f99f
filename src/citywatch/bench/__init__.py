"""Benchmarks: quality and speed, printed and written as JSON (``make bench``).

Benchmarks are not tests: they measure, compare side by side in one run, and
report; targets are shown next to the figures.
"""
