"""Resolve once: base config + dataset config + flags + ``--cfg-options`` + protocol + zoo.

Everything a run depends on is decided here and written into the mmengine Config before a
Runner is built; the segmentor takes what it is given. This module imports neither torch nor
mmseg, so flag, path and zoo errors are reported in well under a second. The device and
precision defaults need torch and are filled by ``ovss.runtime.resolve_device``.
"""

from __future__ import annotations

import glob
import os

from foundation.datasets import DATASETS, display_name
from foundation.errors import CheckpointError, ConfigError, DataError
from foundation.methods import METHODS, canonical_method, resolve_options
from foundation.model_configs import vision_shape
from foundation.proxies import proxy_spec, resolve_proxy_file
from foundation.upsamplers import WEIGHTS_HINT, check_applies
from foundation.zoo import (
    MODEL_ZOO,
    OPENCLIP_ARCHITECTURES,
    ROOT,
    ModelSource,
    check_checkpoint_exists,
    dense_path_label,
    resolve_source,
    source_from_config,
    source_to_config,
)

from .config_files import dataset_type, read_config
from .protocols import apply_protocol

CONFIG_DIR = os.path.join(ROOT, "configs")
BASE_CONFIG = os.path.join(CONFIG_DIR, "base_config.py")
DEFAULT_MODEL_TYPE = "SegEarth"  # the published dense path of the OpenCLIP family


def dataset_configs(config_dir: str | None = None) -> dict[str, str]:
    """Dataset type -> its config file, read from ``configs/cfg_*.py``."""
    found = {}
    for path in sorted(glob.glob(os.path.join(config_dir or CONFIG_DIR, "cfg_*.py"))):
        found[dataset_type(path)] = path  # literal keys: ~15 ms for all, not ~0.8 s
    return found


def load_config(path: str, overrides: dict | None = None, cfg_options: dict | None = None):
    """One config file with flags (dotted keys), then ``--cfg-options``, then the protocol,
    then the zoo folded in. Raises a UserError for anything unusable."""
    cfg = read_config(path, BASE_CONFIG)  # a user's dataset config may live elsewhere
    # No yapf: mmengine runs it over the whole config each time a Runner logs or dumps it
    # (measured ~1 s per dataset on 2 CPU cores). fromfile(format_python_code=False) does not
    # reach the Config it returns in mmengine 0.10.7, so the flag is set here.
    object.__setattr__(cfg, "_format_python_code", False)
    overrides, cfg_options = dict(overrides or {}), dict(cfg_options or {})
    cfg.merge_from_dict(overrides)
    cfg.merge_from_dict(cfg_options)
    apply_protocol(cfg, frozenset(cfg_options))
    resolve_model(cfg)
    for path in cfg.get("model_configs", []):
        if not os.path.exists(path):
            raise ConfigError(f"--model-config {path}: no such file or folder")
    return cfg


def resolve_model(cfg) -> None:
    """Fold the zoo row into ``cfg.model``: checkpoint path or hub tag, QuickGELU, LongCLIP
    request, family, the published dense path; class file made absolute."""
    m = cfg.model
    source = resolve_source(
        m.model_name,
        m.vit_type,
        m.get("pretrained"),
        cfg.get("checkpoint_dir", "checkpoints"),
        bool(m.get("fqg")),
        m.get("long_clip"),
    )
    check_checkpoint_exists(source)
    # whether a published number can be about these weights (tools/compare_runs.py)
    zoo_tag = source.checkpoint is None and source.tag == MODEL_ZOO[source.method].tag
    cfg.weights = "own" if m.get("pretrained") and not zoo_tag else "published"
    m.update(source_to_config(source))  # the published CLI's spellings -> the zoo's, ...
    published = MODEL_ZOO[source.method].dense_path
    if m.get("model_type") is None:
        # the method's published dense path: SegEarth for the OpenCLIP family (with the
        # configured ignore_residual); the general-domain models' own last layer (docs/models.md)
        m.model_type, residual = published or (DEFAULT_MODEL_TYPE, None)
        if residual is not None:
            m.ignore_residual = residual
    m.model_type = canonical_method(m.model_type)
    resolve_method(cfg)
    resolve_upsampler(cfg, source.family)
    label = dense_path_label(
        source.method, m.model_type, m.get("ignore_residual", True), m.get("cls_token_lambda", 0)
    )
    if label is not None:  # recorded and printed with the settings (published or extension)
        cfg.dense_path = label
    if not m.get("name_path"):
        raise ConfigError(
            f"{cfg.filename}: no class file (model.name_path); pass --classes or a dataset config"
        )
    if not os.path.isabs(m.name_path):  # beside a user's own config, else in the repository
        beside = os.path.join(os.path.dirname(os.path.abspath(cfg.filename)), m.name_path)
        where = beside if os.path.isfile(beside) else os.path.join(ROOT, m.name_path)
        m.name_path = os.path.normpath(where)
    if not os.path.isfile(m.name_path):
        raise ConfigError(f"class file {m.name_path} does not exist (config key model.name_path)")


def resolve_method(cfg) -> None:
    """The dense method's options: its published defaults with the user's overrides, all
    recorded; a protocol's CLS term is dropped (and the drop recorded) for a method that
    has no CLS token."""
    m = cfg.model
    info = METHODS[m.model_type]
    m.method_options = resolve_options(m.model_type, m.get("method_options"))
    if not info.residual and not m.get("ignore_residual", True):
        raise ConfigError(
            f"--model-type {m.model_type} has no residual branch: drop model.ignore_residual=False"
        )
    if "proxy" in m.method_options:  # the proxy backbone's weights, found before any import
        options = m.method_options
        options.proxy = proxy_spec(options.proxy).name
        options.proxy_pretrained = resolve_proxy_file(
            options.proxy, options.proxy_pretrained, cfg.get("checkpoint_dir", "checkpoints")
        )
    if m.get("cls_token_lambda") and not info.has_cls:
        cfg.cls_term = (
            f"none: {m.model_type} has no CLS token, so the protocol's cls_token_lambda "
            f"{m.cls_token_lambda} is not applied"
        )
        m.cls_token_lambda = 0.0


def resolve_upsampler(cfg, family: str) -> None:
    """SegEarth-OV's SimFeatUp: its file found and its fit to the model checked before any
    heavy import; without it, a segearth run says it is the post-processing only."""
    m = cfg.model
    if not m.get("upsampler"):
        if cfg.get("protocol") == "segearth":
            cfg.protocol_note = (
                "post-processing only: without SegEarth-OV's SimFeatUp upsampler "
                "(--upsampler FILE) its numbers are not comparable with SegEarth-OV's Table 1"
            )
        return
    m.upsampler = os.path.abspath(m.upsampler)
    if not os.path.isfile(m.upsampler):
        raise CheckpointError(f"--upsampler {m.upsampler}: not found; use {WEIGHTS_HINT}")
    if m.get("force_upsampler"):
        return
    if family not in OPENCLIP_ARCHITECTURES:
        raise ConfigError(
            f"--upsampler: SimFeatUp's published weights are for patch-16, 512-d CLIPs "
            f"(ViT-B/16); --method {m.model_name} is not an OpenAI/OpenCLIP-style CLIP; pass "
            "--force-upsampler to run it anyway (recorded as an extension)"
        )
    shape = vision_shape(m.vit_type, cfg.get("model_configs", []))
    if shape is not None:  # the same rule the segmentor applies to the loaded model
        check_applies(shape["embed_dim"], shape["patch_size"], override="--force-upsampler")


def check_data_root(cfgs: dict) -> None:
    """The data check that needs no heavy import: every requested dataset's image and label
    folders exist. All missing datasets are one line, with those present and the
    ``--datasets`` value that runs them (the full check, ``ovss.data_check``, follows)."""
    roots = {c.test_dataloader.dataset.get("data_root") or "" for c in cfgs.values()}
    for root in sorted(roots):
        if root and not os.path.isdir(root):
            raise DataError(
                f"data root {root} does not exist; set test_data_root in "
                "configs/base_config.py or pass --data-root"
            )
    missing, present = [], []
    for name, cfg in cfgs.items():
        ds = cfg.test_dataloader.dataset
        prefix = ds.get("data_prefix") or {}
        folders = [prefix.get(k) or "" for k in ("img_path", "seg_map_path")]
        root = ds.get("data_root") or ""
        absent = [f for f in folders if not os.path.isdir(os.path.join(root, f))]
        if not absent:
            present.append(name)
            continue
        where = absent if len(roots) == 1 else [os.path.join(root, f) for f in absent]
        missing.append(f"{display_name(name)} ({', '.join(where)})")
    if not missing:
        return
    at = f"data root {next(iter(roots)) or '.'}: " if len(roots) == 1 else ""
    if present:
        names = ",".join(DATASETS[n].name if n in DATASETS else n for n in present)
        rest = (
            f"present: {', '.join(display_name(n) for n in present)}; run those with "
            f"--datasets {names}, or prepare the rest with tools/prepare_dataset.py"
        )
    else:
        rest = "none of the requested datasets is there: prepare them with "
        rest += "tools/prepare_dataset.py or pass --data-root"
    raise DataError(f"{at}missing {', '.join(missing)}; {rest}")


def hide_gpus_for_cpu_runs(cfg) -> None:
    """``model.device='cpu'``: hide the GPUs before torch initialises CUDA, because
    mmengine's Runner moves the model to the current CUDA device whenever one is visible."""
    if cfg.model.get("device") == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def model_source(cfg) -> ModelSource:
    """The resolved weights of a config (as the segmentor will load them)."""
    return source_from_config(cfg.model)


def fingerprint_index(cfg) -> str | None:
    """Where checkpoint hashes are remembered across runs: beside the text cache."""
    cache = cfg.model.get("text_cache_dir")
    return os.path.join(cache, "fingerprints.json") if cache else None
