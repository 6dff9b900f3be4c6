"""`gameday init [DIR]`: a starter project the user owns.

It writes the bundled experiments, SLO catalogue and load profiles (so they can be
edited; the commands prefer them to the bundled ones), one example feature with the
product's step library, a README of what to edit and a CI job. It refuses a folder
that already holds files, unless ``--force`` (then only the starter's files are
overwritten).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import TextIO

from gameday.errors import HarnessError
from gameday.project import (
    CATALOGUE_FILE,
    EXPERIMENTS_FOLDER,
    PROFILES_FILE,
    bundled,
    bundled_catalogue,
    bundled_experiments,
    bundled_profiles,
)

_STARTER = (
    "README.md",
    "ci/gameday.yml",
    "conftest.py",
    "pytest.ini",
    "scenarios/test_resilience.py",
)


def starter_files() -> dict[str, Path]:
    """Each file of the starter project (relative name) and the bundled file it copies."""
    experiments = sorted(bundled_experiments().glob("*.yaml"))
    files = {f"{EXPERIMENTS_FOLDER}/{p.name}": p for p in experiments}
    files[CATALOGUE_FILE] = bundled_catalogue()
    files[PROFILES_FILE] = bundled_profiles()
    starter = bundled("gameday", "starter")
    for name in _STARTER:
        files[name] = starter / name
    for feature in sorted((starter / "scenarios" / "features").glob("*.feature")):
        files[f"scenarios/features/{feature.name}"] = feature
    files[".gitignore"] = starter / "gitignore"
    return files


def main(args: argparse.Namespace, out: TextIO) -> int:
    target = Path(args.dir).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise HarnessError(f"{target} is not a folder")
    if target.is_dir() and any(target.iterdir()) and not args.force:
        raise HarnessError(
            f"{target} is not empty",
            "choose an empty folder, or pass --force to write the starter files into it "
            "(files of the same name are overwritten)",
        )
    files = starter_files()
    try:
        for name, source in files.items():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    except OSError as exc:
        raise HarnessError(
            f"cannot write the starter project into {target}: {exc.strerror}",
            "choose a writable folder",
        ) from None
    print(f"wrote a gameday project into {target} ({len(files)} files):", file=out)
    for name in files:
        print(f"  {name}", file=out)
    where = "" if target == Path.cwd() else f"cd {target} && "
    print(f"next: {where}gameday run   (see README.md there for what to edit)", file=out)
    return 0
