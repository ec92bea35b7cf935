"""Published evaluation protocols (docs/protocol.md) as data, applied in one place.

Both protocols share the dense path of ``configs/base_config.py`` (SegEarth attention,
ignore_residual, logit scale 50, crop 224 / stride 112, resize 448); they differ only in the
post-processing below. A value the user sets explicitly (``--cfg-options
model.prob_thd=...``) wins, and the recorded protocol then says it was modified.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.errors import ConfigError


@dataclass(frozen=True)
class Protocol:
    """What a protocol fixes.

    ``per_dataset_key`` names the dataset-config dict holding that dataset's
    ``prob_thd``/``bg_idx`` and, where it differs, ``cls_token_lambda`` (None: ``prob_thd``
    0 and ``bg_idx`` 0 everywhere).
    """

    description: str
    cls_token_lambda: float
    per_dataset_key: str | None


PROTOCOLS: dict[str, Protocol] = {
    "farslip": Protocol("the published FarSLIP table: no thresholds, no CLS bias", 0.0, None),
    "segearth": Protocol(
        "SegEarth-OV: per-dataset prob_thd/bg_idx, CLS bias -0.3; with --upsampler FILE its "
        "full pipeline (SimFeatUp), without it the post-processing only",
        -0.3,
        "segearth_postprocess",
    ),
}
PROTOCOL_KEYS = ("model.prob_thd", "model.bg_idx", "model.cls_token_lambda")


def apply_protocol(cfg, explicit: frozenset[str] = frozenset()) -> None:
    """Set ``cfg.model``'s post-processing from ``cfg.protocol``; keys in ``explicit``
    (dotted config keys the user set) are kept and recorded in ``cfg.protocol_overrides``."""
    name = cfg.get("protocol")
    if name not in PROTOCOLS:
        raise ConfigError(f"--protocol '{name}': choose one of {', '.join(PROTOCOLS)}")
    protocol = PROTOCOLS[name]
    values = {"model.prob_thd": 0.0, "model.bg_idx": 0}
    if protocol.per_dataset_key is not None:
        post = cfg.get(protocol.per_dataset_key)
        if post is None:
            raise ConfigError(
                f"{cfg.filename}: protocol {name} needs "
                f"{protocol.per_dataset_key} = dict(prob_thd=..., bg_idx=...)"
            )
        values = {"model.prob_thd": post["prob_thd"], "model.bg_idx": post["bg_idx"]}
    values["model.cls_token_lambda"] = protocol.cls_token_lambda
    if protocol.per_dataset_key is not None and "cls_token_lambda" in post:
        # a dataset the published protocol ran without the CLS bias (SegEarth-OV's xBD)
        values["model.cls_token_lambda"] = post["cls_token_lambda"]
    kept = sorted(k for k in PROTOCOL_KEYS if k in explicit)
    cfg.merge_from_dict({k: v for k, v in values.items() if k not in explicit})
    cfg.protocol_overrides = [k.split(".")[-1] for k in kept]
