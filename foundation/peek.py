"""What a checkpoint file is, read in milliseconds without torch: its keys and tensor shapes,
its family and its image tower, so that a wrong file is one line before the heavy imports.

``torch.save`` writes a zip archive whose ``data.pkl`` holds the structure and whose other
members hold the tensor bytes. ``data.pkl`` is read here by an unpickler that builds nothing:
every class it names becomes an inert placeholder, every tensor a ``TensorMeta`` (shape and
dtype); no storage is read and no code of the file runs. NumPy ``.npz`` files (TIPS) give
their array names and shapes from the ``.npy`` headers. Torch's legacy non-zip format and
TorchScript archives (OpenAI's original files) give None: the full loader checks them.
"""

from __future__ import annotations

import builtins
import collections
import pickle
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

import numpy.lib.format as npy

from .errors import CheckpointError
from .zoo import MODEL_ZOO

MAX_PICKLE = 64 << 20  # a ViT-H's data.pkl is ~0.3 MB; larger ones are left to torch
PREFIXES = ("module.", "_orig_mod.")  # DDP and torch.compile wrappers
WRAPPERS = ("state_dict", "model", "module")  # training runs nest the weights under these

# What a family's files are called in messages.
FAMILY_NAMES = {
    "openclip": "an OpenCLIP",
    "eva02": "an EVA02-CLIP (CLIPSelf / FineCLIP)",
    "cosmos": "a COSMOS",
    "flair": "a FLAIR",
    "tips": "a TIPS",
}
# A COSMOS file is an OpenCLIP file plus training-only keys: OpenCLIP-looking keys are its own.
COMPATIBLE = {"cosmos": ("openclip",)}


@dataclass(frozen=True)
class TensorMeta:
    """A tensor as the pickle describes it (its bytes are never read)."""

    shape: tuple[int, ...]
    dtype: str


class _Inert:
    """Any object the pickle names: accepts whatever it is built or filled with."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass

    def __setitem__(self, key, value) -> None:
        pass

    def append(self, value) -> None:
        pass

    def extend(self, values) -> None:
        pass


@dataclass(frozen=True)
class _StorageType:
    dtype: str


def _rebuild_tensor(storage, offset, size, *rest) -> TensorMeta:
    return TensorMeta(tuple(int(s) for s in size), getattr(storage, "dtype", "?"))


def _first_arg(data, *rest):
    return data


def _from_type(func, new_type, args, state):
    return func(*args)


_SAFE_BUILTINS = frozenset({"set", "frozenset", "list", "dict", "tuple", "slice", "complex"})


class _ShapeUnpickler(pickle.Unpickler):
    """Reads a torch ``data.pkl`` into dicts of ``TensorMeta``; builds nothing else."""

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "builtins" and name in _SAFE_BUILTINS:
            return getattr(builtins, name)
        if module == "torch._utils" and name.startswith("_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name.startswith("_rebuild_parameter"):
            return _first_arg
        if module == "torch._tensor" and name == "_rebuild_from_type_v2":
            return _from_type
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name[: -len("Storage")].lower() or "untyped")
        return _Inert

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, numel): the storage itself is not read
        kind = pid[1] if isinstance(pid, tuple) and len(pid) > 1 else None
        return kind if isinstance(kind, _StorageType) else _StorageType("?")


def strip_prefixes(key: str) -> str:
    """``module.`` / ``_orig_mod.`` removed (repeatedly: DDP around a compiled model)."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key


def _state_dict(obj) -> dict[str, tuple[int, ...]]:
    """The weights' shapes: the first wrapper holding tensors, else the object itself."""
    if isinstance(obj, dict):
        for key in WRAPPERS:
            inner = obj.get(key)
            if isinstance(inner, dict) and any(isinstance(v, TensorMeta) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, dict):
        return {}
    return {
        strip_prefixes(k): v.shape
        for k, v in obj.items()
        if isinstance(k, str) and isinstance(v, TensorMeta)
    }


def _what_it_is(head: bytes) -> str | None:
    """A few words on a file that is clearly no checkpoint, from its first bytes (None:
    some other binary format, which torch may still read, e.g. its old tar format)."""
    if not head:
        return "an empty file"
    if len(head) > 9 and head[8:9] == b"{":
        return "a safetensors file (load it and torch.save the dict to use it here)"
    if head[:2] == b"\x1f\x8b":
        return "a gzip file"
    try:
        text = head[:200].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.lstrip().lower().startswith(("<!doctype html", "<html")):
        return "an HTML page (a failed download?)"
    first = text.strip().splitlines()[0][:40] if text.strip() else ""
    return f"a text file ('{first}...')" if first else "a text file"


def _npz_shapes(archive: zipfile.ZipFile) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for name in archive.namelist():
        with archive.open(name) as f:
            version = npy.read_magic(f)
            header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shapes[name[: -len(".npy")]] = tuple(header(f)[0])
    return shapes


def read_shapes(path: str) -> dict[str, tuple[int, ...]] | None:
    """Key -> shape of the weights in ``path`` (prefixes stripped); None where the format
    cannot be read cheaply (legacy pickle, TorchScript). A file that is clearly no
    checkpoint (text, HTML, empty, another archive) is a CheckpointError."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
        if not zipfile.is_zipfile(path):
            what = None if head[:1] == b"\x80" else _what_it_is(head)  # \x80: legacy pickle
            if what is None:
                return None
            raise CheckpointError(f"{path}: not a PyTorch checkpoint: {what}; pass the weights")
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if names and all(n.endswith(".npy") for n in names):
                return _npz_shapes(archive)
            if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
                return None  # TorchScript
            pickles = sorted((n for n in names if n.endswith("data.pkl")), key=len)
            if not pickles:
                raise CheckpointError(
                    f"{path}: not a PyTorch checkpoint: a zip archive without data.pkl "
                    f"({len(names)} files); pass the weights file"
                )
            if archive.getinfo(pickles[0]).file_size > MAX_PICKLE:
                return None
            with archive.open(pickles[0]) as f:
                obj = _ShapeUnpickler(f).load()
    except CheckpointError:
        raise
    except (OSError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError, ValueError) as err:
        raise CheckpointError(
            f"{path}: unreadable checkpoint ({type(err).__name__}: {err}); a damaged or "
            "incomplete download?"
        ) from None
    except Exception:  # noqa: BLE001 - an exotic pickle: let torch judge it
        return None
    return _state_dict(obj)


def guess_family(keys: Iterable[str]) -> str | None:
    """Which family's published format a set of keys is (None: none we know)."""
    keys = set(keys)
    if "register_tokens" in keys or "blocks.0.attn.qkv.weight" in keys:
        return "tips"
    if keys & {"visual.pos_embed", "visual.trunk.pos_embed", "visual.blocks.0.attn.q_proj.weight"}:
        return "eva02"
    if keys & {"image_post.proj", "text_post.proj", "visual_proj.attn.in_proj_weight"}:
        return "flair"
    if keys & {"distill_logit_scale", "visual.attn_cross_pool.attn.in_proj_weight"}:
        return "cosmos"
    if keys & {"visual.conv1.weight", "visual.class_embedding"}:
        return "openclip"
    return None


def wrong_family(path: str, keys: Iterable[str], family: str) -> CheckpointError | None:
    """The one-line diagnosis when ``keys`` are another family's format, else None."""
    guessed = guess_family(keys)
    if guessed is None or guessed == family or guessed in COMPATIBLE.get(family, ()):
        return None
    methods = [m for m, e in MODEL_ZOO.items() if e.family == guessed]
    if guessed == "openclip":
        methods = ["CLIP --pretrained PATH (or the zoo method it was published as)"]
    return CheckpointError(
        f"{path}: looks like {FAMILY_NAMES[guessed]} checkpoint, not {FAMILY_NAMES[family]} "
        f"one; use --method {' or '.join(methods)}"
    )


@dataclass(frozen=True)
class Tower:
    """An OpenCLIP ViT image tower as the weights (or a model config) give it."""

    patch: int
    width: int
    layers: int
    grid: int

    def __str__(self) -> str:
        return (
            f"patch {self.patch}, width {self.width}, {self.layers} blocks, "
            f"{self.grid}x{self.grid} grid"
        )


def vision_tower(shapes: dict[str, tuple[int, ...]]) -> Tower | None:
    """The OpenCLIP ViT image tower of a state_dict's shapes (None: not such a tower)."""
    conv, pos = shapes.get("visual.conv1.weight"), shapes.get("visual.positional_embedding")
    if conv is None or pos is None or len(conv) != 4 or len(pos) != 2:
        return None
    blocks = {int(m.group(1)) for k in shapes if (m := _BLOCK.match(k))}
    return Tower(conv[-1], conv[0], len(blocks), round((pos[0] - 1) ** 0.5))


_BLOCK = re.compile(r"visual\.transformer\.resblocks\.(\d+)\.")
LONG_CONTEXT = 248  # LongCLIP's text positions


def is_long_clip(shapes: dict[str, tuple[int, ...]]) -> bool:
    """LongCLIP text tower: 248 position rows and a second (``_res``) table."""
    pos = shapes.get("positional_embedding")
    return bool(pos) and pos[0] == LONG_CONTEXT and "positional_embedding_res" in shapes
