"""The bundled Chaos Toolkit experiments (YAML): one file per story.

A package only so the wheel carries them (read with ``importlib.resources``);
a project's own ``experiments/`` folder overrides a file of the same name.
"""

from typing import Any


def discover(discover_system: bool = True) -> Any:
    """Our activities, for `chaos discover gameday-harness`.

    Chaos Toolkit asks a distribution's first top-level package for ``discover``, and
    alphabetically that is this one; the extension itself lives in ``gameday.chaos``.
    """
    from gameday import discover as discover_activities

    return discover_activities(discover_system)
