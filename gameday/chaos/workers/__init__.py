"""The worker processes of the local stack (the supervisor restarts one that dies)."""
