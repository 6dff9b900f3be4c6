"""Per-call overhead cuts for moto's server, measured with cProfile on SendMessage.

Each patch caches a pure function that moto 5.2.5 recomputes on every request:

- ``moto.backends.list_of_moto_modules`` lists and stats moto's ~170 package
  folders (os.listdir + isdir) each time the dispatcher routes a request: 38%
  of a SendMessage's server time. The folders do not change while serving.
- ``method_names_from_class`` runs ``inspect.getmembers`` over the response
  class on every call to find its actions: 5%. Classes do not gain methods.
- ``camelcase_to_underscores`` converts the same dozen SQS attribute names
  character by character whenever ``Queue.attributes`` is built: 12%.

Together with waitress instead of werkzeug's development server, this is
what `gameday bench backend` shows as the gap between stock moto and us at
depth 0. Like the SQS fast path, it refuses a moto it was not checked against.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto import backends
from moto.core import responses as core_responses
from moto.sqs import models as sqs_models

from gameday.stack.sqs_fastpath import check_supported

_installed = threading.Event()


def _cached_modules(original: Callable[[], Any]) -> Callable[[], tuple[str, ...]]:
    modules = tuple(original())
    return lambda: modules


def install() -> None:
    """Patch this process's moto. Idempotent."""
    if _installed.is_set():
        return
    check_supported()
    # setattr/getattr: these names are moto internals, not exported API.
    setattr(backends, "list_of_moto_modules", _cached_modules(backends.list_of_moto_modules))  # noqa: B010
    for module, name, cache in (
        (core_responses, "method_names_from_class", functools.cache),
        (sqs_models, "camelcase_to_underscores", functools.lru_cache(maxsize=1024)),
    ):
        setattr(module, name, cache(getattr(module, name)))
    _installed.set()
