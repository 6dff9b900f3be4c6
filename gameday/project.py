"""Where a user's files live: the project folder, with the bundled files behind it.

A project folder (the current directory, ``--project DIR`` or ``GAMEDAY_PROJECT_DIR``)
may hold ``experiments/*.yaml``, ``slos.yaml``, ``profiles.yaml`` and ``scenarios/``.
A file there overrides the bundled one of the same name; anything it lacks comes
from the installed package (read through ``importlib.resources``, so a wheel works
as well as a checkout). Run folders go to ``gameday-runs/`` under the project,
never into the installed package.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.machinery import PathFinder
from pathlib import Path

from gameday.errors import HarnessError
from gameday.settings import ENV_PROJECT_DIR

RUNS_FOLDER = "gameday-runs"
CATALOGUE_FILE = "slos.yaml"
PROFILES_FILE = "profiles.yaml"
EXPERIMENTS_FOLDER = "experiments"


def bundled(package: str, *parts: str) -> Path:
    """A file the package carries (installed as plain files: wheels and checkouts alike)."""
    root = resources.files(package)
    if isinstance(root, Path) and (root / "__init__.py").is_file():
        return root.joinpath(*parts)
    # A user's folder of the same name (``experiments/`` in a project run with
    # ``python -m``, which puts the current folder on sys.path) became a namespace
    # package and hid an editable install's package: ask the other finders for ours.
    for finder in sys.meta_path:
        if finder is PathFinder or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(package, None)
        if spec is not None and spec.origin:
            return Path(spec.origin).parent.joinpath(*parts)
    raise HarnessError(
        f"the installed package {package!r} is incomplete", "reinstall gameday-harness"
    )


def bundled_experiments() -> Path:
    return bundled("experiments")


def bundled_catalogue() -> Path:
    return bundled("system_under_test", CATALOGUE_FILE)


def bundled_profiles() -> Path:
    return bundled("loadtests", PROFILES_FILE)


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def current(cls, environ: Mapping[str, str] | None = None) -> Project:
        """The project of this process: ``GAMEDAY_PROJECT_DIR``, else the current directory."""
        env = os.environ if environ is None else environ
        configured = env.get(ENV_PROJECT_DIR)
        return cls(Path(configured).resolve() if configured else Path.cwd())

    @classmethod
    def checked(cls, folder: str | Path) -> Project:
        """A project folder the user named: it must exist and be a folder."""
        path = Path(folder).expanduser().resolve()
        if not path.exists():
            raise HarnessError(
                f"project folder {path} does not exist", "create it or run `gameday init`"
            )
        if not path.is_dir():
            raise HarnessError(f"project folder {path} is not a folder")
        return cls(path)

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_FOLDER

    def new_run_dir(self, kind: str) -> Path:
        """A fresh, timestamped run folder under ``gameday-runs/``; created, or exit 3."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        writable_folder(self.runs_dir)
        for attempt in range(1, 100):  # two runs in one second get two folders
            suffix = "" if attempt == 1 else f"-{attempt}"
            folder = self.runs_dir / f"{stamp}-{kind}{suffix}"
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder
        raise HarnessError(f"too many runs named {stamp}-{kind} in {self.runs_dir}")

    @property
    def catalogue(self) -> Path:
        own = self.root / CATALOGUE_FILE
        return own if own.is_file() else bundled_catalogue()

    @property
    def profiles(self) -> Path:
        own = self.root / PROFILES_FILE
        return own if own.is_file() else bundled_profiles()

    def experiments(self) -> dict[str, Path]:
        """Every experiment by name: the bundled ones, overridden by the project's own."""
        found = {p.stem: p for p in sorted(bundled_experiments().glob("*.yaml"))}
        own = self.root / EXPERIMENTS_FOLDER
        if own.is_dir():
            found |= {p.stem: p for p in sorted(own.glob("*.yaml"))}
        return found

    def experiment(self, name: str) -> Path:
        """An experiment by name (``poison-payloads``) or by any file path."""
        path = Path(name)
        if path.suffix:
            if not path.is_file():
                raise HarnessError(f"no experiment file {path}")
            return path
        known = self.experiments()
        if name not in known:
            names = ", ".join(sorted(known))
            raise HarnessError(f"no experiment {name!r}", f"known: {names}, or give a file path")
        return known[name]

    def files_used(self) -> dict[str, object]:
        """What `gameday status` shows: each file the commands read, and where runs go."""
        return {
            "project": str(self.root),
            "catalogue": str(self.catalogue),
            "profiles": str(self.profiles),
            "experiments": {name: str(path) for name, path in self.experiments().items()},
            "runs": str(self.runs_dir),
        }


def run_folder(chosen: str | None, kind: str) -> Path:
    """The run folder given on the command line (created, writable), else a new one."""
    return writable_folder(Path(chosen)) if chosen else Project.current().new_run_dir(kind)


def writable_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(
            f"cannot create {folder}: {exc.strerror}", "choose a writable project folder"
        ) from None
    if not os.access(folder, os.W_OK):
        raise HarnessError(f"{folder} is not writable", "choose a writable project folder")
    return folder
