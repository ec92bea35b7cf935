"""SegEarth-OV's SimFeatUp upsampler as plain data: where its weights are and which models
they fit, so that the config refuses a misfit before anything heavy is imported and the
segmentor (``dense.simfeatup``) applies the same rule to the loaded model."""

from __future__ import annotations

from .errors import ConfigError

FEAT_DIM = 512  # the published weights' feature size (CLIP ViT-B/16)
PATCH_SIZE = 16  # four x2 steps
WEIGHTS_HINT = (
    "xclip_jbu_one_million_aid.ckpt from the SegEarth-OV repository "
    "(https://github.com/likyoo/SegEarth-OV, simfeatup_dev/weights/)"
)


def check_applies(
    feat_dim: int, patch_size: int, force: bool = False, override: str = "the override"
) -> None:
    """Refuse models the published weights were not trained for (patch 16, 512-d features)
    unless forced: the upsampler always gives 16 x the grid, and its last layer is 512 x 512."""
    if force:
        return
    if patch_size != PATCH_SIZE:
        raise ConfigError(
            f"SimFeatUp upsamples patch features x16 and its published weights are for patch-16, "
            f"512-d CLIPs (ViT-B/16); this model has patch {patch_size} (output would be "
            f"{PATCH_SIZE / patch_size:g} x the window); use {override} to run it anyway"
        )
    if feat_dim != FEAT_DIM:
        raise ConfigError(
            f"SimFeatUp's published weights are for 512-d patch features (CLIP ViT-B/16); this "
            f"model's are {feat_dim}-d; use {override} to run it anyway (its final 1x1 fix-up, "
            f"which is 512 x 512, is then left out)"
        )
