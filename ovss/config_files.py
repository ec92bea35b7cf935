"""Config files: the repository's and the user's own, read without editing the repository.

``dataset_keys`` reads a dataset config's literal ``test_dataloader.dataset`` keys with
``ast`` (the 17 configs in ~15 ms; ``Config.fromfile`` takes ~50 ms each), to find a config's
dataset type and folders. ``read_config`` reads any config with mmengine and lets a dataset
config live outside the repository (``--dataset-config FILE``, docs/extending.md): without a
``_base_`` it is read on top of ``configs/base_config.py``; the modules its
``custom_imports`` names are imported from its own folder, in addition to the base's (an
mmengine child config would replace the base's list, and with it our registrations).
"""

from __future__ import annotations

import ast
import functools
import os
import sys

from mmengine.config import Config

from foundation.errors import ConfigError

_UNKNOWN = object()  # a value that is not a literal (e.g. a variable of the base config)


def _value(node: ast.AST):
    """A literal, or ``dict(...)`` / ``{...}`` of literals, as Python data (else _UNKNOWN)."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict" and not node.args:
        return {kw.arg: _value(kw.value) for kw in node.keywords if kw.arg}
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return {k.value: _value(v) for k, v in zip(node.keys, node.values, strict=True)}
    try:
        return ast.literal_eval(node)
    except ValueError:
        return _UNKNOWN


def _assignments(path: str) -> dict[str, ast.AST]:
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, ValueError) as err:
        raise ConfigError(f"config {path}: cannot read ({err})") from None
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value
    return found


def literal(path: str, name: str, default=None):
    """A top-level literal value of a config file (``default`` if absent or not literal)."""
    node = _assignments(path).get(name)
    value = _value(node) if node is not None else _UNKNOWN
    return default if value is _UNKNOWN else value


def dataset_keys(path: str) -> dict:
    """The literal keys of ``test_dataloader.dataset`` in one config file ({} if none)."""
    loader = _assignments(path).get("test_dataloader")
    loader = _value(loader) if loader is not None else {}
    dataset = loader.get("dataset") if isinstance(loader, dict) else None
    if not isinstance(dataset, dict):
        return {}
    return {k: v for k, v in dataset.items() if v is not _UNKNOWN}


def has_base(path: str) -> bool:
    return "_base_" in _assignments(path)


def dataset_type(path: str) -> str:
    """The dataset type a config evaluates (from its literal keys, else through mmengine)."""
    found = dataset_keys(path).get("type")
    if isinstance(found, str):
        return found
    cfg = read_config(path)
    found = cfg.get("test_dataloader", {}).get("dataset", {}).get("type")
    if not isinstance(found, str):
        raise ConfigError(
            f"dataset config {path}: no test_dataloader.dataset.type (the registered dataset "
            "class to evaluate)"
        )
    return found


@functools.cache
def _base_imports(base: str) -> tuple[str, ...]:
    imports = _fromfile(base).get("custom_imports") or {}
    return tuple(imports.get("imports", ()))


def read_config(path: str, base: str | None = None) -> Config:
    """A config file through mmengine; a dataset config outside ``base``'s folder may omit
    ``_base_`` (then ``base`` is read under it) and name its own ``custom_imports``."""
    if not os.path.isfile(path):
        raise ConfigError(f"config {path}: no such file")
    cfg = _fromfile(path)
    folder = os.path.dirname(os.path.abspath(path))
    if base is None or folder == os.path.dirname(os.path.abspath(base)):
        return cfg
    if not has_base(path):
        merged = _fromfile(base)
        merged.merge_from_dict(cfg.to_dict())
        cfg = Config(merged.to_dict(), filename=path)
    ours = _base_imports(base)
    own = list((cfg.get("custom_imports") or {}).get("imports", []))
    if any(m not in ours for m in own) and folder not in sys.path:
        sys.path.append(folder)  # the modules it names live beside it
    missing = [m for m in ours if m not in own]
    if missing:  # ours first: the user's modules register into mmseg's registries
        cfg.merge_from_dict({"custom_imports": {"imports": [*missing, *own]}})
    return cfg


def _fromfile(path: str) -> Config:
    try:
        return Config.fromfile(path, import_custom_modules=False)
    except (OSError, SyntaxError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"config {path}: cannot read ({first}); a _base_ must name an existing file "
            "(absolute, or relative to the config), or be left out"
        ) from None


def share_custom_imports(cfgs: dict) -> None:
    """Every config imports the modules any of them names: the run registers its modules
    once, from the first config, before any dataset is built."""
    imports: list[str] = []
    for cfg in cfgs.values():
        for module in (cfg.get("custom_imports") or {}).get("imports", []):
            if module not in imports:
                imports.append(module)
    for cfg in cfgs.values():
        cfg.merge_from_dict({"custom_imports": {"imports": list(imports)}})


def own_dataset_configs(paths: list[str] | None) -> dict[str, str]:
    """``--dataset-config FILE`` values -> dataset type -> absolute path (one error line
    for a missing file or a config without a dataset type)."""
    found = {}
    for path in paths or []:
        if not os.path.isfile(path):
            raise ConfigError(f"--dataset-config {path}: no such file")
        found[dataset_type(path)] = os.path.abspath(path)
    return found
