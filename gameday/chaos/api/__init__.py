"""The reference API: readiness, circuits, and orders sent the way a client sends them."""
