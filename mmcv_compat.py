"""Make mmsegmentation importable on mmcv-lite, in this one place.

mmseg 1.2.2 imports ``mmcv.ops`` at import time, and ``mmcv.ops`` loads the compiled
extension ``mmcv._ext``. mmcv-lite ships no compiled ops and OVSS never calls one, so
when (and only when) ``mmcv._ext`` cannot be found we register a placeholder module.
Every attribute of the placeholder is a function that raises, so a compiled op that is
actually called still fails loudly. Import this module before anything imports mmseg.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from typing import Any, NoReturn

EXT_NAME = "mmcv._ext"


class MissingCompiledOp(RuntimeError):
    """A compiled mmcv op was called on an mmcv install that has none (mmcv-lite)."""


class _PlaceholderExt(types.ModuleType):
    """Stands in for ``mmcv._ext``: any op name resolves, calling it raises."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def missing(*args: Any, **kwargs: Any) -> NoReturn:
            raise MissingCompiledOp(
                f"mmcv compiled op '{name}' is not available: mmcv-lite has no compiled ops "
                "(RS-OVSS never needs one; install full mmcv if your own code does)."
            )

        missing.__name__ = name
        return missing


def install_placeholder() -> bool:
    """Register the placeholder ``mmcv._ext`` if no real one exists; True if installed."""
    if EXT_NAME in sys.modules or importlib.util.find_spec(EXT_NAME) is not None:
        return False
    module = _PlaceholderExt(EXT_NAME, "placeholder for mmcv compiled ops (mmcv-lite)")
    # A real spec (loader None): pkgutil/importlib checks in mmengine need one, and
    # mmengine's mmcv_full_available() then reports, correctly, that there are no ops.
    module.__spec__ = importlib.machinery.ModuleSpec(EXT_NAME, loader=None)
    sys.modules[EXT_NAME] = module
    return True


install_placeholder()
