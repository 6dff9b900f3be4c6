"""The reference system under test: API -> SQS -> worker -> downstream, with a DLQ.

It depends on nothing from the harness (``gameday``): its handlers deploy to AWS
Lambda unchanged, and locally `gameday up` runs each part as a process on
127.0.0.1. Everything it needs comes from environment variables named in
:mod:`system_under_test.config`.
"""

__version__ = "0.1.0"
