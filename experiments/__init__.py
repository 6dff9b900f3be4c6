"""The bundled Chaos Toolkit experiments (YAML): one file per story.

A package only so the wheel carries them (read with ``importlib.resources``);
a project's own ``experiments/`` folder overrides a file of the same name.
"""
