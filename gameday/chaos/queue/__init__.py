"""The orders queue and its dead-letter queue (SQS)."""
