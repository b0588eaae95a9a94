"""`python -m benchmarks`: ARCHITECTURE §4's targets, each measured against a baseline taken in the same run."""
