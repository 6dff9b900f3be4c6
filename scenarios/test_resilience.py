"""Binds every feature file in features/ (add yours there)."""

from pytest_bdd import scenarios

scenarios("features")
