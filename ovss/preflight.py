"""Checks before the heavy imports: what a run needs, judged in milliseconds, so that a
mistake is one line in about a second instead of after 10 s of imports (or 60 s of network
retries).

On the resolved configs (``ovss.config``), without torch, mmseg or open_clip: the device and
precision (a GPU is looked for in ``/dev`` and ``CUDA_VISIBLE_DEVICES``; only a clearly
impossible request is refused), the output folders (writable or creatable), the checkpoint's
kind (``foundation.peek``: not a checkpoint, another family, another ViT size, LongCLIP or
not), hub weights (cached, or reachable), and the image of ``tools/segment_image.py``.
The full checks still follow where the weights are loaded.
"""

from __future__ import annotations

import difflib
import glob
import os
import re
import socket
import sys
import tempfile
import threading
from urllib.parse import urlparse

from foundation.errors import CheckpointError, ConfigError, DataError
from foundation.images import header_size
from foundation.model_configs import config_names, read_model_config
from foundation.open_clip_tags import (
    cached_weights,
    download_address,
    hf_cache_dir,
    hub_file,
    pretrained_cfg,
    pretrained_tags,
)
from foundation.peek import (
    Tower,
    guess_family,
    is_long_clip,
    read_shapes,
    vision_tower,
    wrong_family,
)
from foundation.zoo import MODEL_ZOO, OPENCLIP_ARCHITECTURES, ModelSource, source_from_config

PROBE_SECONDS = 1.5  # how long a hub host may take to accept a connection
GPU_DEVICES = ("/dev/nvidia[0-9]*", "/dev/dxg", "/dev/kfd", "/dev/nvhost-*")  # CUDA/WSL/ROCm/Jetson


def check_run(cfgs: dict, outputs: dict[str, str | None]) -> None:
    """Everything a run needs that can be judged without heavy imports (one error line).
    ``outputs``: flag -> folder the run writes to (None: not used)."""
    first = next(iter(cfgs.values()))
    check_device(first.model.get("device"), first.model.get("precision"))
    for flag, folder in outputs.items():
        if folder:
            check_folder(flag, folder)
    check_weights(first)


def visible_gpus() -> tuple[int | None, str]:
    """(GPUs CUDA can see: 0, a count, or None when that cannot be told cheaply; why)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    count = None
    if env is not None:
        entries = []
        for entry in env.split(","):  # CUDA stops at the first invalid entry
            if not entry.strip() or entry.strip().startswith("-"):
                break
            entries.append(entry)
        if not entries:
            return 0, f"CUDA_VISIBLE_DEVICES='{env}' hides every GPU"
        count = len(entries)
    if sys.platform.startswith("linux") and not any(glob.glob(p) for p in GPU_DEVICES):
        return 0, "no GPU device in /dev"
    return count, ""


def check_device(device: str | None, precision: str | None) -> None:
    """``--device`` and ``--precision``: their values, and a GPU where one is needed."""
    if device is not None and not re.fullmatch(r"cpu|cuda(:\d+)?", str(device)):
        raise ConfigError(f"--device {device}: use cpu, cuda or cuda:N")
    gpus, why = visible_gpus()
    if device is not None and device.startswith("cuda"):
        if gpus == 0:
            raise ConfigError(
                f"--device {device}: no GPU is visible here ({why}); use --device cpu"
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if gpus is not None and index >= gpus:
            raise ConfigError(
                f"--device {device}: only {gpus} GPU(s) visible (CUDA_VISIBLE_DEVICES); use "
                f"cuda:0 to cuda:{gpus - 1}"
            )
    on_cpu = device == "cpu" or (device is None and gpus == 0)
    if precision == "fp16" and on_cpu:
        where = "" if device == "cpu" else f" and no GPU is visible here ({why})"
        raise ConfigError(f"--precision fp16 needs CUDA{where}; on CPU use fp32 (default) or bf16")


def check_folder(flag: str, folder: str) -> None:
    """An output folder: an existing writable folder, or one that can be created (nothing
    is left behind by the check)."""
    path = os.path.abspath(folder)
    existing, missing = path, None
    while not os.path.exists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing, missing = parent, existing
    if not os.path.isdir(existing):
        raise ConfigError(
            f"{flag} {folder}: {existing} is a file, not a folder; pass another {flag}"
        )
    try:
        if missing is None:
            fd, probe = tempfile.mkstemp(dir=path, prefix=".rs-ovss-write-check-")
            os.close(fd)
            os.remove(probe)
        else:
            os.mkdir(missing)
            os.rmdir(missing)
    except FileExistsError:
        pass  # created meanwhile by someone else: it can be created
    except OSError as err:
        where = path if missing is None else existing
        raise ConfigError(
            f"{flag} {folder}: cannot {'write in' if missing is None else 'create a folder in'} "
            f"{where} ({err.strerror}); pass a folder you can write to"
        ) from None


def check_weights(cfg) -> None:
    """The weights named by a resolved config: a file's kind, or a hub tag's availability."""
    source = source_from_config(cfg.model)
    extra = list(cfg.get("model_configs", []))
    if source.family in OPENCLIP_ARCHITECTURES:
        check_vit_type(source, extra)
    if source.checkpoint is not None:
        check_checkpoint(source, extra)
    elif source.tag is not None:
        check_hub(source)


def model_config(name: str, extra: list[str]) -> dict | None:
    """An open_clip model config by name: its JSON, or open_clip's registry where loaded."""
    found = read_model_config(name, extra)
    if found is None and "open_clip" in sys.modules:  # e.g. added with add_model_config
        found = sys.modules["open_clip"].get_model_config(name)
    return found


def model_names(extra: list[str]) -> list[str]:
    """Every open_clip model config name this run could use."""
    names = set(sys.modules["open_clip"].list_models()) if "open_clip" in sys.modules else set()
    return sorted(names | config_names(extra))


def check_vit_type(source: ModelSource, extra: list[str]) -> None:
    if model_config(source.vit_type, extra) is not None:
        return
    names = model_names(extra)
    close = difflib.get_close_matches(source.vit_type, names, n=1, cutoff=0.6)
    lower = {n.lower(): n for n in names}.get(source.vit_type.lower())
    hint = f" (did you mean {lower or close[0]}?)" if lower or close else ""
    raise ConfigError(
        f"--vit-type '{source.vit_type}'{hint} is not an OpenCLIP model config: e.g. "
        "ViT-B-16, ViT-B-32, ViT-L-14, or register yours with --model-config FILE.json"
    )


def config_tower(cfg: dict | None) -> Tower | None:
    """The ViT image tower an open_clip model config builds (None: not open_clip's ViT)."""
    vision = (cfg or {}).get("vision_cfg", {})
    if "patch_size" not in vision or not isinstance(vision.get("layers"), int):
        return None
    size = vision.get("image_size", 224)
    size = size[0] if isinstance(size, list | tuple) else size
    patch = vision["patch_size"]
    return Tower(patch, vision["width"], vision["layers"], size // patch)


def matching_configs(tower: Tower, preferred: tuple[str, ...], extra: list[str]) -> list[str]:
    """Model config names whose image tower is ``tower``, the likeliest first (the zoo
    row's sizes, then plain names such as ViT-B-32, then shorter names)."""
    found = [n for n in model_names(extra) if config_tower(model_config(n, extra)) == tower]
    plain = re.compile(r"ViT-[A-Za-z]+-\d+")
    return sorted(found, key=lambda n: (n not in preferred, not plain.fullmatch(n), len(n), n))


def check_checkpoint(source: ModelSource, extra: list[str]) -> None:
    """A checkpoint file read cheaply (``foundation.peek``): what it is against what the
    flags ask for. Formats that cannot be read cheaply are left to the full loader."""
    path = source.checkpoint
    if not os.path.isfile(path):
        return  # reported by the zoo's check
    shapes = read_shapes(path)
    if shapes is None:
        return
    if not shapes:
        raise CheckpointError(
            f"{path}: holds no tensors (not a state_dict, nor one under 'state_dict'); pass "
            "the weights file"
        )
    diagnosis = wrong_family(path, shapes, source.family)
    if diagnosis is not None:
        raise diagnosis
    if source.family != "openclip":
        return
    if guess_family(shapes) is None:
        keys = ", ".join(list(shapes)[:3])
        raise CheckpointError(
            f"{path}: not a CLIP checkpoint (no visual.conv1.weight / token_embedding.weight; "
            f"its keys: {keys}, ...)"
        )
    check_long_clip(source, shapes)
    check_tower(source, shapes, extra)


def check_long_clip(source: ModelSource, shapes: dict) -> None:
    long_clip = is_long_clip(shapes)
    path, method = source.checkpoint, source.method
    if source.long_clip is True and not long_clip:
        rows = (shapes.get("positional_embedding") or (0,))[0]
        raise CheckpointError(
            f"{path}: not LongCLIP weights (positional_embedding has {rows} rows, no "
            f"positional_embedding_res), but --method {method} / --long-clip load_from_scratch "
            "asks for LongCLIP; use a method without LongCLIP (e.g. --method CLIP) or drop "
            "--long-clip"
        )
    if source.long_clip is False and long_clip:
        with_long = [m for m, e in MODEL_ZOO.items() if e.long_clip]
        raise CheckpointError(
            f"{path}: LongCLIP weights (248 text positions), but --method {method} is not "
            f"LongCLIP; use --method {' or '.join(with_long)} (with their weights), or "
            "--method CLIP --pretrained PATH, or drop --long-clip disable"
        )


def check_tower(source: ModelSource, shapes: dict, extra: list[str]) -> None:
    """The file's image tower against the ``--vit-type`` config; names the config it fits."""
    got = vision_tower(shapes)
    want = config_tower(model_config(source.vit_type, extra))
    if got is None or want is None or got == want:
        return
    entry = MODEL_ZOO.get(source.method)
    preferred = entry.vit_types or () if entry else ()
    fits = matching_configs(got, preferred, extra)
    what = f"{source.checkpoint}: its image tower ({got}) is not --vit-type {source.vit_type}'s"
    if fits:
        raise CheckpointError(f"{what} ({want}): a {fits[0]} checkpoint; pass --vit-type {fits[0]}")
    raise CheckpointError(
        f"{what} ({want}), and no OpenCLIP model config has it; register one with "
        "--model-config FILE.json"
    )


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def reachable(host: str, port: int = 443, seconds: float = PROBE_SECONDS) -> bool:
    """Whether ``host`` accepts a connection within ``seconds`` (behind a proxy: assumed)."""
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    answer: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=seconds).close()
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)  # name lookups ignore timeouts
    thread.start()
    thread.join(seconds)
    return bool(answer and answer[0])


def check_hub(source: ModelSource) -> None:
    """open_clip weights by tag: a tag it has for this size, and the file cached or its
    host reachable; else the file to download by hand."""
    cfg = pretrained_cfg(source.vit_type, source.tag)
    if not cfg:
        tags = pretrained_tags(source.vit_type)
        raise CheckpointError(
            f"open_clip has no '{source.tag}' weights for --vit-type {source.vit_type} (its "
            f"tags: {', '.join(tags) or 'none'}); pass --pretrained PATH or another tag"
        )
    if cached_weights(cfg) is not None:
        return
    host = "huggingface.co" if hub_file(cfg) else urlparse(cfg.get("url", "")).hostname or ""
    if not offline() and reachable(host):
        return
    why = "HF_HUB_OFFLINE is set" if offline() else f"{host} cannot be reached (no network?)"
    fqg = " --fqg" if cfg.get("quick_gelu") else ""  # as open_clip builds them by tag
    raise CheckpointError(
        f"--method {source.method} --vit-type {source.vit_type}: open_clip's '{source.tag}' "
        f"weights are not cached ({hf_cache_dir()}) and {why}; download "
        f"{download_address(cfg)} and pass --pretrained PATH{fqg}"
    )


def check_image(path: str) -> None:
    """An input image: a file whose header an image reader understands."""
    if not os.path.isfile(path):
        what = "is a folder, not an image" if os.path.isdir(path) else "no such file"
        raise DataError(f"image {path}: {what}")
    if header_size(path) is not None:
        return
    with open(path, "rb") as f:  # unknown to Pillow: refused only if clearly no image
        head = f.read(512)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return  # binary: the image reader judges it
    if not head or all(c.isprintable() or c in "\r\n\t" for c in text):
        what = "an empty file" if not head else "a text file"
        raise DataError(f"image {path}: {what}, not an image (PNG, JPEG, TIFF)")
