"""Measurement core: the SLO catalogue, the message ledger, verdicts."""
