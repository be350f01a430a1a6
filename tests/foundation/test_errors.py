"""Every exception class of ``geo`` derives from :class:`geo._errors.VoisinmapError`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import geo
from geo._errors import VoisinmapError


def _geo_exception_classes() -> list[type[BaseException]]:
    found = {}
    for info in pkgutil.walk_packages(geo.__path__, prefix="geo."):
        if any(part.endswith("migrations") or part == "vendor" for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("geo.") and obj is not VoisinmapError:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


CLASSES = _geo_exception_classes()


def test_the_library_defines_its_error_classes() -> None:
    assert len(CLASSES) >= 15, [c.__name__ for c in CLASSES]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_error_derives_from_the_common_base(cls: type[BaseException]) -> None:
    assert issubclass(cls, VoisinmapError)


@pytest.mark.parametrize(("name", "builtin"), [
    ("geo.load.DataNotBuiltError", FileNotFoundError), ("geo.siting.sites.SitesError", ValueError),
    ("geo.auth.store.UnknownUserError", KeyError), ("geo.sources.SourceUnavailableError", RuntimeError),
])
def test_errors_keep_their_builtin_base(name: str, builtin: type[BaseException]) -> None:
    module, _, cls = name.rpartition(".")
    assert issubclass(getattr(importlib.import_module(module), cls), builtin)
