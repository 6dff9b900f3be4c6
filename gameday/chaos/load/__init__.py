"""Locust load profiles, run in the background of an experiment."""
