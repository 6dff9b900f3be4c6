"""The reference system's processes: kill one the hard way; the supervisor restarts it."""
