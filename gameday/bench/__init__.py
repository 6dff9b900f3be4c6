"""Benchmarks behind `gameday bench`: each prints figures and ratios measured in one run."""
