"""open_clip's pretrained-weight tags, read from its installed ``pretrained.py`` without
importing it (importing open_clip imports torch: measured 2-11 s on 2 CPU cores), so that
``--pretrained TAG`` is told from a path at start-up, and where open_clip caches a tag's
weights, so that an offline run fails at once naming the file to fetch.

Where open_clip is imported already (tests, tools), its own table is asked instead.
"""

from __future__ import annotations

import ast
import functools
import glob
import importlib.util
import os
import sys

HF_FILES = ("open_clip_pytorch_model.bin", "open_clip_model.safetensors")  # open_clip's names


def package_dir() -> str | None:
    """open_clip's installed folder (found, not imported)."""
    spec = importlib.util.find_spec("open_clip")
    return spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else None


def _loaded():
    return sys.modules.get("open_clip")


def _literal(node: ast.AST):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _tag_cfg(node: ast.AST) -> dict:
    """``_pcfg(url=..., hf_hub=..., quick_gelu=True)`` -> its literal keyword values."""
    if not isinstance(node, ast.Call):
        return {}
    return {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}


@functools.cache
def _parsed_table() -> dict[str, dict[str, dict]]:
    """open_clip's ``_PRETRAINED`` table read from ``pretrained.py`` with ``ast`` (~25 ms)."""
    root = package_dir()
    if root is None:
        return {}
    with open(os.path.join(root, "pretrained.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    groups: dict[str, dict[str, dict]] = {}
    table: dict[str, dict[str, dict]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if not isinstance(target, ast.Name):
            continue
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict":
            groups[target.id] = {kw.arg: _tag_cfg(kw.value) for kw in value.keywords if kw.arg}
        elif target.id == "_PRETRAINED" and isinstance(value, ast.Dict):
            for key, group in zip(value.keys, value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(group, ast.Name):
                    table[key.value] = groups.get(group.id, {})
    for name, tags in list(table.items()):  # open_clip adds '<name>-quickgelu' models
        quick = {t: c for t, c in tags.items() if c.get("quick_gelu")}
        if quick:
            table[f"{name}-quickgelu"] = quick
    return table


def clean_tag(tag: str) -> str:
    """open_clip's normalisation of a pretrained tag."""
    return tag.lower().replace("-", "_")


def pretrained_tags(model: str) -> list[str]:
    """The pretrained tags open_clip has for a model config name."""
    if _loaded() is not None:
        return list(_loaded().list_pretrained_tags_by_model(model))
    return list(_parsed_table().get(model, {}))


def is_tag_anywhere(tag: str) -> bool:
    """Whether any model of open_clip has weights under this tag."""
    if _loaded() is not None:
        return bool(_loaded().list_pretrained_models_by_tag(tag))
    return any(clean_tag(tag) in tags for tags in _parsed_table().values())


def pretrained_cfg(model: str, tag: str) -> dict:
    """Where open_clip fetches ``model``'s ``tag`` weights ({} if it has none)."""
    if _loaded() is not None:
        return dict(_loaded().get_pretrained_cfg(model, tag))
    return dict(_parsed_table().get(model, {}).get(clean_tag(tag), {}))


def hf_cache_dir() -> str:
    """huggingface_hub's cache folder, as it resolves it from the environment."""
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(key):
            return os.path.expanduser(os.environ[key])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    home = os.environ.get("HF_HOME") or os.path.join(xdg, "huggingface")
    return os.path.join(os.path.expanduser(home), "hub")


def hub_file(cfg: dict) -> tuple[str, str] | None:
    """(repository, file name) of a tag's Hugging Face weights, None if it has none."""
    hub = cfg.get("hf_hub") or ""
    if not hub:
        return None
    repo, name = os.path.split(hub)  # 'org/model/' means open_clip's default file name
    return repo, name or HF_FILES[0]


def cached_weights(cfg: dict) -> str | None:
    """The locally cached weights file of a tag (Hugging Face cache, then ~/.cache/clip)."""
    found = hub_file(cfg)
    if found is not None:
        repo, name = found
        snapshots = os.path.join(hf_cache_dir(), "models--" + repo.replace("/", "--"), "snapshots")
        names = (name, *HF_FILES[1:]) if name == HF_FILES[0] else (name,)
        for path in sorted(glob.glob(os.path.join(snapshots, "*", "*"))):
            if os.path.basename(path) in names and os.path.isfile(path):
                return path
    url = cfg.get("url") or ""
    local = os.path.join(os.path.expanduser("~/.cache/clip"), os.path.basename(url))
    return local if url and os.path.isfile(local) else None


def download_address(cfg: dict) -> str:
    """Where a tag's weights file can be downloaded by hand."""
    found = hub_file(cfg)
    if found is not None:
        return f"https://huggingface.co/{found[0]}/resolve/main/{found[1]}"
    return cfg.get("url") or "(open_clip gives no address)"
