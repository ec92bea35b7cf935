"""SegEarth-OV's full path with SimFeatUp: the segmentor equals a per-window loop written from
the published description (crops not resized, positions interpolated by scale factor, x16
features from the upsampler, per-pixel normalisation, CLS term), on a random tiny CLIP and a
random upsampler file in the published Lightning format."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import TINY
from customized_segmentor import CustomizedSegmentation
from references import reference_last_block
from test_simfeatup import random_weights, reference_upsampler, save_lightning


@pytest.fixture(scope="module")
def upsampler_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("up") / "xclip_jbu_one_million_aid.ckpt"
    return save_lightning(path, random_weights(32, seed=3))  # the tiny CLIP's 32-d features


@pytest.fixture(scope="module")
def segearth(tiny_checkpoint, class_file, upsampler_file):
    return CustomizedSegmentation(
        name_path=class_file,
        model_name="CLIP",
        vit_type=TINY,
        pretrained=tiny_checkpoint,
        cls_token_lambda=-0.3,
        upsampler=upsampler_file,
        force_upsampler=True,  # the published weights are for 512-d features; ours are 32-d
    )


def positions(visual, gh: int, gw: int) -> torch.Tensor:
    """The published fork's resize: CLS kept, patch table bicubic by scale (g + 0.1) / 14."""
    pos = visual.positional_embedding
    old = round((pos.shape[0] - 1) ** 0.5)
    if (gh, gw) == (old, old):
        return pos
    grid = pos[1:].reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=((gh + 0.1) / old, (gw + 0.1) / old), mode="bicubic")
    return torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)])


def crop_logits(seg, crop: torch.Tensor, lam: float) -> torch.Tensor:
    """(Q, h, w) for one padded crop at its own size (SegEarth-OV's forward_feature)."""
    visual = seg.model.clip.visual
    gh, gw = crop.shape[-2] // 16, crop.shape[-1] // 16
    x = visual.conv1(crop).flatten(2).transpose(1, 2)
    x = torch.cat([visual.class_embedding.expand(1, 1, -1), x], 1) + positions(visual, gh, gw)
    x = visual.ln_pre(x)
    for block in visual.transformer.resblocks[:-1]:
        x = block(x)
    x = reference_last_block(visual.transformer.resblocks[-1], x, "SegEarth", True, 1)
    x = visual.ln_post(x) @ visual.proj
    cls = x[:, 0] / x[:, 0].norm(dim=-1, keepdim=True)
    feats = x[:, 1:].transpose(1, 2).reshape(1, -1, gh, gw)
    up = reference_upsampler(seg.upsampler, feats, crop)[0]  # (D, 16 gh, 16 gw)
    up = up / up.norm(dim=0, keepdim=True)
    q = seg.query_features
    logits = torch.einsum("dhw,qd->qhw", up, q)
    return logits + lam * (cls @ q.T)[0][:, None, None]


def reference(seg, img: torch.Tensor, ori, lam: float) -> torch.Tensor:
    """mmseg slide windows, each padded to 16 (odd pixel right/bottom), never resized."""
    h, w = img.shape[-2:]
    canvas = torch.zeros(len(seg.queries), h, w)
    count = torch.zeros(1, h, w)
    for iy in range(max(h - 224 + 111, 0) // 112 + 1):
        for ix in range(max(w - 224 + 111, 0) // 112 + 1):
            y2, x2 = min(iy * 112 + 224, h), min(ix * 112 + 224, w)
            y1, x1 = max(y2 - 224, 0), max(x2 - 224, 0)
            win = img[:, :, y1:y2, x1:x2]
            ph, pw = -win.shape[-2] % 16, -win.shape[-1] % 16
            top, left = ph // 2, pw // 2
            crop = F.pad(win, (left, pw - left, top, ph - top))
            logits = crop_logits(seg, crop, lam)
            canvas[:, y1:y2, x1:x2] += logits[:, top : top + y2 - y1, left : left + x2 - x1]
            count[:, y1:y2, x1:x2] += 1
    out = F.interpolate((canvas / count)[None], size=ori, mode="bilinear", align_corners=False)
    return out[0]


@pytest.mark.parametrize(
    "size,ori",
    [
        ((224, 336), (500, 750)),  # full 224 windows
        ((448, 150), (900, 301)),  # 224 x 150 windows: padded to 224 x 160, run at 14 x 10
    ],
)
def test_segmentor_equals_the_published_per_crop_path(segearth, size, ori):
    torch.manual_seed(5)
    img = torch.randn(1, 3, *size)
    with torch.no_grad():
        got = segearth.slide_logits(img, ori)
        want = reference(segearth, img, ori, -0.3)
    assert got.shape == want.shape == (len(segearth.queries), *ori)
    assert (got - want).abs().max().item() <= 1e-4


def test_per_pixel_features_of_the_full_window_size(segearth):
    """The upsampler gives features at every pixel of the window (not the 14 x 14 grid)."""
    inputs = torch.randn(3, 3, 224, 224)
    with torch.no_grad():
        logits = segearth.pixel_logits(inputs)
        windows = segearth.window_logits(torch.randn(2, 3, 224, 160))
    assert logits.shape == (3, len(segearth.queries), 224, 224)
    assert windows.shape == (2, len(segearth.queries), 224, 160)
    # not a bilinear blow-up of a 14 x 14 map: neighbouring pixels inside one patch differ
    assert (logits[:, :, 0, 0] - logits[:, :, 0, 1]).abs().max() > 0


def test_refused_on_a_model_it_was_not_trained_for(tiny_checkpoint, class_file, upsampler_file):
    with pytest.raises(Exception, match="512-d") as info:
        CustomizedSegmentation(
            name_path=class_file,
            model_name="CLIP",
            vit_type=TINY,
            pretrained=tiny_checkpoint,
            upsampler=upsampler_file,
        )
    assert "\n" not in str(info.value)
