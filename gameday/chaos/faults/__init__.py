"""Fault switches: the SSM parameters the reference system reads (failure-lambda style)."""
