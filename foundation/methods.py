"""The dense methods as plain data: the names ``--model-type`` accepts, what each one is, its
published hyper-parameters and what it needs, so that a bad name or option is reported before
anything heavy is imported (``dense.METHODS`` maps the same names to their code).

A method computes a window's dense patch features from a family's image tower: the nine
last-layer attentions (the last block's attention matrix swapped), and methods that read
more of the tower (intermediate layers, a second backbone, the text queries).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .errors import ConfigError
from .proxies import DEFAULT_PROXY


@dataclass(frozen=True)
class MethodInfo:
    """One method.

    ``options`` are its hyper-parameters with their published defaults (overridable with
    ``--cfg-options model.method_options.NAME=VALUE``, recorded with every result);
    ``has_cls``: it gives a CLS token (a protocol's CLS term needs one); ``residual``: the
    config's ``ignore_residual`` applies to it; ``needs_queries``: its features depend on the
    text queries and the logit scale (a feedback pass); ``needs_pixels``: it reads the window's
    pixels in another normalisation (it is given the family's mean/std); ``source`` the
    publication.
    """

    kind: str  # "attention" (last layer only) or "method"
    summary: str
    source: str
    options: dict[str, object] = field(default_factory=dict)
    has_cls: bool = True
    residual: bool = True
    needs_queries: bool = False
    needs_pixels: bool = False
    aliases: tuple[str, ...] = ()


def _attention(summary: str, source: str) -> MethodInfo:
    return MethodInfo("attention", summary, source)


METHODS: dict[str, MethodInfo] = {
    "vanilla": _attention("CLIP's own q-k attention", "Radford et al., ICML 2021"),
    "MaskCLIP": _attention("value-only (each token attends to itself)", "Zhou et al., ECCV 2022"),
    "SCLIP": _attention("q-q + k-k self-self attention", "Wang et al., ECCV 2024"),
    "ClearCLIP": _attention("q-q attention", "Lan et al., ECCV 2024"),
    "SegEarth": _attention("q-q + k-k + v-v attention (default)", "Li et al., SegEarth-OV 2024"),
    "NACLIP": _attention("k-k attention + Gaussian neighbourhood", "Hajimiri et al., WACV 2025"),
    "GAV": _attention("q-k attention + Gaussian prior scaled by |q||k|", "RS-OVSS variant"),
    "NOnly": _attention("Gaussian prior scaled by |q||k| only", "RS-OVSS variant"),
    "GEM": _attention("self-self attention, one clustering step", "Bousselham et al., CVPR 2024"),
    "SC-CLIP": MethodInfo(
        "method",
        "anomaly-token repair, mid-layer self-adjustment, multi-level fusion",
        "Bai et al., SC-CLIP, arXiv 2411.15869",
        # None: the published setting for the tower's depth (ViT-B/16: 8, 3, [3, 10), 0.3;
        # ViT-L/14: 16, 6, [8, 19), 0.1; other depths scaled from the nearest)
        options={
            "pre_adjust_idx": None,
            "post_adjust_idx": None,
            "multi_start": None,
            "multi_end": None,
            "res_cls": None,
        },
        has_cls=False,
        residual=False,
        aliases=("SCCLIP",),
    ),
    "ProxyCLIP": MethodInfo(
        "method",
        "CLIP's last-block values re-weighted by a proxy model's (DINO / DINOv2) similarity",
        "Lan et al., ProxyCLIP, ECCV 2024",
        # proxy_pretrained None: the proxy's published file in the checkpoint directory
        options={"proxy": DEFAULT_PROXY, "proxy_pretrained": None, "gamma": 3.0, "beta": 1.2},
        has_cls=False,
        residual=False,
        needs_pixels=True,
    ),
    "ResCLIP": MethodInfo(
        "method",
        "mid-layer cross-correlation attention (RCS) + semantic feedback refinement (SFR)",
        "Yang et al., ResCLIP, CVPR 2025",
        # the published Cityscapes row (urban scenes, 224/112 windows as ours); no
        # remote-sensing settings were published
        options={
            "use_rcs": True,
            "use_sfr": True,
            "layers": (5, 6, 7, 8),
            "rcs_tau": 2.0,
            "rcs_lambda": 0.2,
            "sfr_tau": 2.1,
            "sfr_lambda": 0.6,
            "temp_thd": 0.10,
            "sigma": 5.0,
            "pamr_steps": 10,
            "pamr_dilations": (8, 16),
            "delete_same_entity": True,
        },
        needs_queries=True,
    ),
}


def canonical_method(name: str) -> str:
    """The table's spelling of ``--model-type`` (case and aliases forgiven), or one error line
    with a suggestion."""
    spellings = {m.lower(): m for m in METHODS}
    spellings.update({a.lower(): m for m, info in METHODS.items() for a in info.aliases})
    found = spellings.get(str(name).lower())
    if found is not None:
        return found
    close = difflib.get_close_matches(str(name).lower(), list(spellings), n=1, cutoff=0.6)
    hint = f" (did you mean {spellings[close[0]]}?)" if close else ""
    raise ConfigError(
        f"--model-type '{name}'{hint}: choose one of {', '.join(METHODS)} "
        "(eval_customized.py --list attentions)"
    )


def resolve_options(method: str, given: dict | None) -> dict:
    """The method's published options updated by ``given`` (an unknown name is an error)."""
    info = METHODS[method]
    given = dict(given or {})
    unknown = sorted(set(given) - set(info.options))
    if unknown:
        known = ", ".join(info.options) or "none"
        raise ConfigError(
            f"model.method_options: {', '.join(unknown)} not an option of --model-type "
            f"{method} (its options: {known})"
        )
    return {**info.options, **given}
