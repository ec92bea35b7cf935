"""The segmentor's output equals a plain one-window-at-a-time loop written from docs/protocol.md."""

from __future__ import annotations

import pytest
import torch
from mmseg.structures import SegDataSample

from conftest import TINY, TINY32
from customized_segmentor import CustomizedSegmentation, pad_to_patch, slide_windows
from references import reference_labels, reference_logits
from synthetic import random_state_dict, save_checkpoint


@pytest.fixture(scope="module")
def segmentor(tiny_checkpoint, class_file):
    return CustomizedSegmentation(
        name_path=class_file, model_name="CLIP", vit_type=TINY, pretrained=tiny_checkpoint
    )


def test_slide_windows_match_mmseg_rule():
    assert slide_windows(448, 448, 224, 112) == [
        (y, y + 224, x, x + 224) for y in (0, 112, 224) for x in (0, 112, 224)
    ]
    # 300: n = (300-224+111)//112+1 = 2; the second window is pulled back to end at 300
    assert slide_windows(300, 100, 224, 112) == [(0, 224, 0, 100), (76, 300, 0, 100)]
    assert slide_windows(100, 150, 224, 112) == [(0, 100, 0, 150)]


def test_pad_to_patch_puts_the_odd_pixel_right_and_bottom():
    assert pad_to_patch(100, 150, 16) == (5, 5, 6, 6)
    assert pad_to_patch(101, 147, 16) == (6, 7, 5, 6)  # 13 wide, 11 high
    assert pad_to_patch(224, 224, 16) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "size,ori",
    [
        ((448, 300), (896, 600)),  # last-window pull-back on the short side
        ((300, 448), (301, 449)),  # pull-back + odd original size
        ((120, 200), (60, 100)),  # small sides: one window, padded to the patch size
        ((448, 231), (448, 231)),  # window width 231 -> padded 240 -> resized to 224
    ],
)
def test_seg_logits_equal_one_window_loop(segmentor, size, ori):
    torch.manual_seed(0)
    img = torch.randn(1, 3, *size)
    with torch.no_grad():
        got = segmentor.slide_logits(img, ori)
        want = reference_logits(segmentor, img, ori)
    assert got.shape == want.shape == (len(segmentor.queries), *ori)
    assert (got - want).abs().max().item() <= 1e-5
    sample = SegDataSample(metainfo=dict(ori_shape=ori))
    segmentor.keep_probs = True
    try:
        segmentor.predict(img, [sample])
    finally:
        segmentor.keep_probs = False
    probs, pred = reference_labels(want, segmentor.query_idx.tolist(), 50, 0.0, 0)
    assert (sample.seg_logits.data - probs).abs().max().item() <= 1e-5
    assert (sample.pred_sem_seg.data[0] == pred).float().mean().item() >= 0.999


def test_patch32_and_cls_token_lambda(tmp_path, class_file):
    ckpt = save_checkpoint(random_state_dict(TINY32, seed=4), str(tmp_path / "t32.pt"), "compiled")
    seg = CustomizedSegmentation(
        name_path=class_file,
        model_name="CLIP",
        vit_type=TINY32,
        pretrained=ckpt,
        cls_token_lambda=-0.3,
        model_type="NACLIP",
        ignore_residual=False,
    )
    img = torch.randn(1, 3, 250, 330)
    with torch.no_grad():
        got = seg.slide_logits(img, (250, 330))
        want = reference_logits(seg, img, (250, 330), lam=-0.3)
        plain = reference_logits(seg, img, (250, 330), lam=0.0)
    assert (got - want).abs().max().item() <= 1e-5
    assert (got - plain).abs().max().item() > 1e-3  # the CLS term is really applied


def test_synonyms_prob_thd_and_bg_idx(segmentor):
    # queries: background | building, roof, house | road | water, river  -> 4 classes
    assert segmentor.queries == [
        "background",
        "building",
        "roof",
        "house",
        "road",
        "water",
        "river",
    ]
    logits = torch.zeros(7, 1, 3)
    logits[2, 0, 0] = 0.1  # 'roof' wins pixel 0 -> class 1
    logits[6, 0, 1] = 0.1  # 'river' wins pixel 1 -> class 3
    probs = segmentor.class_probabilities(logits)
    soft = torch.softmax(logits * 50, dim=0)
    assert probs.shape == (4, 1, 3)
    assert torch.allclose(probs[1], soft[1:4].max(0).values)  # max over synonyms, not sum
    assert segmentor.labels(probs)[0, 0].tolist() == [1, 3, 0]
    # pixel 2 is uniform (1/7 per query): below the threshold it becomes bg_idx
    segmentor.prob_thd, segmentor.bg_idx = 0.2, 2
    try:
        assert segmentor.labels(probs)[0, 0].tolist() == [1, 3, 2]
    finally:
        segmentor.prob_thd, segmentor.bg_idx = 0.0, 0


def test_unknown_model_type_is_rejected(tiny_checkpoint, class_file):
    with pytest.raises(ValueError, match="--model-type 'Foo'"):
        CustomizedSegmentation(
            name_path=class_file,
            model_name="CLIP",
            vit_type=TINY,
            pretrained=tiny_checkpoint,
            model_type="Foo",
        )


def test_bf16_on_cpu_follows_fp32(tiny_checkpoint, class_file, segmentor):
    seg16 = CustomizedSegmentation(
        name_path=class_file,
        model_name="CLIP",
        vit_type=TINY,
        pretrained=tiny_checkpoint,
        precision="bf16",
    )
    assert next(seg16.model.parameters()).dtype == torch.bfloat16
    img = torch.randn(1, 3, 224, 300)
    with torch.no_grad():
        low = seg16.slide_logits(img, (224, 300))
        full = segmentor.slide_logits(img, (224, 300))
    assert low.dtype == torch.float32 and low.shape == full.shape
    assert (low - full).abs().max().item() < 0.1  # bf16 keeps ~3 significant digits


def test_mmseg_interface_methods(segmentor):
    """encode_decode/_forward give the same query logits as slide_logits; no training."""
    img = torch.randn(2, 3, 200, 260)
    metas = [{"ori_shape": (100, 130)}, {"ori_shape": (400, 520)}]
    with torch.no_grad():
        first = segmentor.encode_decode(img[:1], metas[:1])
        assert torch.equal(first[0], segmentor.slide_logits(img[:1], (100, 130)))
        assert segmentor._forward(img).shape == (2, len(segmentor.queries), 200, 260)
        feats = segmentor.extract_feat(torch.randn(1, 3, 224, 224))
    assert feats.patches.shape == (1, 196, 32) and feats.cls.shape == (1, 32)
    assert feats.grid == (14, 14)
    with pytest.raises(NotImplementedError, match="training-free"):
        segmentor.loss(img, [])
