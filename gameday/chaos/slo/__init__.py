"""The SLO catalogue and the message ledger, judged over the experiment's run folder."""
