"""Start one of the system's processes as a broken variant (the supervisor's launcher).

``python -m gameday.variants VARIANT PART MODULE [ARGS...]`` patches the system as
``VARIANT`` says for ``PART``, then runs ``MODULE`` as ``python -m MODULE ARGS`` would.
"""

from __future__ import annotations

import runpy
import sys

from gameday.variants import named, sabotage


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit("usage: python -m gameday.variants VARIANT PART MODULE [ARGS...]")
    variant, part, module = named(argv[0]), argv[1], argv[2]
    sabotage.apply(variant, part)
    sys.argv = [module, *argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
