"""Reading published checkpoint files and loading them strictly, for every family.

One place for the facts all families share: wrapper dicts and DDP/compile prefixes, the
strict key/shape check, and the diagnosis when a file belongs to another family (so a wrong
``--method`` is one line that names the right one, not a list of 300 missing keys).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import torch
from torch import Tensor, nn

from foundation.errors import CheckpointError
from foundation.peek import FAMILY_NAMES, strip_prefixes, wrong_family


def _few(keys: list[str]) -> str:
    return ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")


def key_mismatch(
    given: Mapping[str, Tensor], expected: Mapping[str, Tensor]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(missing, unexpected, wrong-shape keys, their description parts) of a strict load."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    wrong = [
        k for k in expected if k in given and tuple(given[k].shape) != tuple(expected[k].shape)
    ]
    parts = []
    if missing:
        parts.append(f"missing {_few(missing)}")
    if unexpected:
        parts.append(f"unexpected {_few(unexpected)}")
    if wrong:
        k = wrong[0]
        parts.append(
            f"shape mismatch {_few(wrong)} (e.g. {k}: file {tuple(given[k].shape)} vs model "
            f"{tuple(expected[k].shape)})"
        )
    return missing, unexpected, wrong, parts


def check_keys(
    given: Mapping[str, Tensor],
    expected: Mapping[str, Tensor],
    path: str,
    family: str,
    what: str,
    file_keys: Iterable[str] | None = None,
) -> None:
    """Every expected key present with its shape, nothing else; else one error line
    (another family's file is named as such, judged from ``file_keys``: the names as in the
    file, before any renaming; default the given keys)."""
    missing, unexpected, wrong, parts = key_mismatch(given, expected)
    if not parts:
        return
    diagnosis = wrong_family(path, given if file_keys is None else file_keys, family)
    if diagnosis is not None:
        raise diagnosis
    if wrong:
        parts[-1] += ": wrong --vit-type?"
    parts.insert(0, f"{path}: does not match {what}")
    raise CheckpointError("; ".join(parts))


def load_strict(
    module: nn.Module,
    state_dict: Mapping[str, Tensor],
    path: str,
    family: str,
    what: str,
    file_keys: Iterable[str] | None = None,
) -> None:
    """``check_keys`` against the module, then ``load_state_dict(strict=True)``."""
    check_keys(state_dict, module.state_dict(), path, family, what, file_keys)
    module.load_state_dict(dict(state_dict), strict=True)


def require_keys(keys: Iterable[str], required: Iterable[str], path: str, family: str) -> None:
    """The family's own key names must be there (so a plain file of another family that
    would happen to fit after renaming is not taken for this one)."""
    keys = set(keys)
    missing = [k for k in required if k not in keys]
    if missing:
        diagnosis = wrong_family(path, keys, family)
        if diagnosis is not None:
            raise diagnosis
        raise CheckpointError(
            f"{path}: not {FAMILY_NAMES[family]} checkpoint (missing {_few(missing)})"
        )


def read_state_dict(path: str, wrappers: tuple[str, ...] = ("state_dict",)) -> dict:
    """A checkpoint file as a plain state_dict: the first of ``wrappers`` present (training
    runs save ``{'state_dict': ...}``), else the file itself; ``module.`` / ``_orig_mod.``
    prefixes stripped. Read with ``weights_only=True`` (no code runs) and memory-mapped
    where the format allows (a ViT-B file in ~0.1 s instead of ~0.5 s: the strict load copies
    what it needs). OpenAI's original files are TorchScript archives: those are read with
    torch.jit.load (no pickle involved) and give the same keys plus OpenAI's metadata.
    """
    try:
        obj = _torch_load(path)
    except Exception as err:  # noqa: BLE001 - any failure here means "not loadable"
        obj = _read_torchscript(path)
        if obj is None:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(
                f"{path}: not a loadable PyTorch checkpoint with weights_only=True ({first[:160]})"
            ) from None
    if isinstance(obj, dict):
        for key in wrappers:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            f"{path}: not a state_dict (expected a dict of tensors, or one under "
            f"{' / '.join(repr(w) for w in wrappers)})"
        )
    return {strip_prefixes(k): v for k, v in obj.items()}


def _torch_load(path: str):
    with warnings.catch_warnings():  # a TorchScript archive is handled by our fallback
        warnings.filterwarnings("ignore", message=".*looks like a TorchScript archive")
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # a legacy (non-zip) file cannot be memory-mapped
            return torch.load(path, map_location="cpu", weights_only=True)


def _read_torchscript(path: str) -> dict[str, torch.Tensor] | None:
    try:
        with warnings.catch_warnings():  # torch 2.14 deprecates jit.load; OpenAI files need it
            warnings.simplefilter("ignore", FutureWarning)
            return dict(torch.jit.load(path, map_location="cpu").state_dict())
    except Exception:  # noqa: BLE001 - not a TorchScript archive either
        return None
