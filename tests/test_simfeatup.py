"""SimFeatUp (jbu_one): the fast adaptive convolution and the whole upsampler against plain
definitions written here from the published formulas, and its checkpoint loader."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dense.simfeatup import (
    SimFeatUp,
    adaptive_conv,
    check_grid,
    load_simfeatup,
)
from foundation.errors import CheckpointError, ConfigError
from foundation.upsamplers import check_applies

KEYS = {
    "up.range_temp": (),
    "up.sigma_spatial": (),
    "up.range_proj.0.weight": (32, 3, 1, 1),
    "up.range_proj.0.bias": (32,),
    "up.range_proj.3.weight": (32, 32, 1, 1),
    "up.range_proj.3.bias": (32,),
    "up.fixup_proj.0.weight": (121, 124, 1, 1),
    "up.fixup_proj.0.bias": (121,),
    "up.fixup_proj.3.weight": (121, 121, 1, 1),
    "up.fixup_proj.3.bias": (121,),
    "fixup_proj.1.weight": (512, 512, 1, 1),
    "fixup_proj.1.bias": (512,),
}


# --- reference: the published formulas, written plainly (tap by tap, full resolution) -----


def plain_adaptive_conv(source_padded, kernel, rows=None):
    """out[b,c,y,x] = sum_ij kernel[b, d i + j, y, x] * source_padded[b, c, y+i, x+j], for the
    output rows ``rows`` (default all)."""
    d = round(kernel.shape[1] ** 0.5)
    height, width = kernel.shape[2:]
    rows = torch.arange(height) if rows is None else rows
    out = source_padded.new_zeros(*source_padded.shape[:2], len(rows), width)
    for i in range(d):
        src = source_padded[:, :, rows + i]
        for j in range(d):
            out.addcmul_(kernel[:, d * i + j, rows][:, None], src[:, :, :, j : j + width])
    return out


def conv1x1(x, conv):
    return F.conv2d(x, conv.weight, conv.bias)


def reference_step(up, source, guidance, rows=None):
    """One JBU step from its definition: range x spatial kernel, normalised, fixed up, then
    the 11x11 per-pixel sum over the bicubic-upsampled, reflect-padded source."""
    height, width = guidance.shape[2:]
    keys = conv1x1(F.gelu(conv1x1(guidance, up.range_proj[0])), up.range_proj[3])
    keys_padded = F.pad(keys, (5, 5, 5, 5), mode="reflect")
    logits = torch.stack(
        [
            (keys_padded[:, :, i : i + height, j : j + width] * keys).sum(1)
            for i in range(11)
            for j in range(11)
        ],
        dim=1,
    )
    temperature = torch.clamp(torch.exp(up.range_temp), 1e-4, 1e4)
    range_kernel = torch.softmax(temperature * logits, dim=1)
    u = torch.linspace(-1, 1, 11)  # float32, as published
    spatial = torch.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * up.sigma_spatial**2))
    assert spatial.dtype == torch.float32
    kernel = range_kernel * spatial.reshape(1, 121, 1, 1)
    kernel = kernel / torch.clamp(kernel.sum(1, keepdim=True), min=1e-7)
    fix = conv1x1(
        F.gelu(conv1x1(torch.cat([kernel, guidance], 1), up.fixup_proj[0])), up.fixup_proj[3]
    )
    kernel = kernel + 0.1 * fix
    upsampled = F.interpolate(source, (height, width), mode="bicubic", align_corners=False)
    return plain_adaptive_conv(F.pad(upsampled, (5, 5, 5, 5), mode="reflect"), kernel, rows)


def reference_upsampler(model, features, image, rows=None):
    """Four shared steps guided by the pooled window, then F4 + 0.1 conv1x1(F4) (F4 alone
    for a model loaded without its final fix-up)."""
    x = features
    for level in range(4):
        guidance = F.adaptive_avg_pool2d(image, (2 * x.shape[2], 2 * x.shape[3]))
        x = reference_step(model.up, x, guidance, rows if level == 3 else None)
    if model.fixup_proj is None:
        return x
    return x + 0.1 * conv1x1(x, model.fixup_proj[1])


# --- checkpoints in the published formats ------------------------------------------------


def random_weights(feat_dim: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Default init x 3 (so the fix-ups matter), range_temp 0.37, sigma_spatial 0.71."""
    torch.manual_seed(seed)
    state = {k: v * 3 for k, v in SimFeatUp(feat_dim).state_dict().items()}
    state["up.range_temp"] = torch.tensor(0.37)
    state["up.sigma_spatial"] = torch.tensor(0.71)
    return state


def save_lightning(path, state: dict[str, torch.Tensor]) -> str:
    """A PyTorch-Lightning checkpoint like xclip_jbu_one_million_aid.ckpt: 8 top-level keys,
    the weights under ``upsampler.``."""
    weights = {f"upsampler.{k}": v for k, v in state.items()}
    torch.save(
        {
            "epoch": 0,
            "global_step": 1000,
            "pytorch-lightning_version": "1.9.4",
            "state_dict": weights,
            "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 1}}}},
            "callbacks": {"ModelCheckpoint{'monitor': None}": {"best_model_score": None}},
            "optimizer_states": [
                {
                    "state": {0: {"step": torch.tensor(1000.0), "exp_avg": torch.zeros(3)}},
                    "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0]}],
                }
            ],
            "lr_schedulers": [],
        },
        str(path),
    )
    return str(path)


@pytest.fixture(scope="module")
def lightning_file(tmp_path_factory):
    return save_lightning(tmp_path_factory.mktemp("simfeatup") / "jbu_one.ckpt", random_weights(32))


# --- the adaptive convolution -------------------------------------------------------------


@pytest.mark.parametrize("diameter", [3, 5, 11])
def test_adaptive_conv_equals_plain_loop(diameter):
    torch.manual_seed(diameter)
    height, width = 7, 12
    source = torch.randn(2, 6, height + diameter - 1, width + diameter - 1, dtype=torch.float64)
    kernel = torch.randn(2, diameter * diameter, height, width, dtype=torch.float64)
    out = adaptive_conv(source, kernel)
    assert out.shape == (2, 6, height, width) and out.dtype == torch.float64
    torch.testing.assert_close(out, plain_adaptive_conv(source, kernel), rtol=0, atol=1e-12)


def test_adaptive_conv_half_accumulates_in_float32():
    torch.manual_seed(0)
    source = torch.randn(1, 8, 15, 19)
    kernel = torch.rand(1, 121, 5, 9) / 60
    out = adaptive_conv(source.bfloat16(), kernel.bfloat16())
    assert out.dtype == torch.bfloat16
    expected = plain_adaptive_conv(source.bfloat16().float(), kernel.bfloat16().float())
    torch.testing.assert_close(out.float(), expected, rtol=1e-2, atol=1e-2)


# --- the whole upsampler on a Lightning-format checkpoint ---------------------------------


@pytest.mark.parametrize(
    "channels,grid",
    [(16, (3, 3)), (32, (4, 5))],
)
def test_upsampler_matches_reference(tmp_path, channels, grid):
    path = save_lightning(tmp_path / "up.ckpt", random_weights(channels, seed=channels))
    model = load_simfeatup(path, feat_dim=channels)
    torch.manual_seed(1)
    features = torch.randn(2, channels, *grid, dtype=torch.float64) * 3
    image = torch.randn(2, 3, 16 * grid[0], 16 * grid[1], dtype=torch.float64)
    reference = reference_upsampler(model.double(), features, image)
    out = model(features, image)
    assert out.shape == (2, channels, 16 * grid[0], 16 * grid[1])
    torch.testing.assert_close(out, reference, rtol=0, atol=1e-11)
    out32 = model.float()(features.float(), image.float())
    assert out32.dtype == torch.float32
    scale = reference.abs().max().item()
    assert (out32.double() - reference).abs().max().item() < 5e-5 * scale


def test_upsampler_real_shape_512_from_14x14_to_224():
    """ViT-B/16 shapes (several row tiles in the fast sum), against the definition in fp32 on
    bands of output rows (the full tap-by-tap reference at 224 would take seconds)."""
    model = SimFeatUp(512)
    model.load_state_dict(random_weights(512, seed=5))
    torch.manual_seed(2)
    features = torch.randn(1, 512, 14, 14) * 3
    image = torch.randn(1, 3, 224, 224)
    out = model(features, image)
    assert out.shape == (1, 512, 224, 224)
    assert out.is_contiguous(memory_format=torch.channels_last)
    rows = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 110, 111, 112, 113, 216, 219, 222, 223])
    reference = reference_upsampler(model, features, image, rows)
    scale = reference.abs().max().item()
    assert (out[:, :, rows] - reference).abs().max().item() < 5e-5 * scale


def test_non_square_window_batch_and_train_mode(lightning_file):
    model = load_simfeatup(lightning_file, feat_dim=32)
    torch.manual_seed(3)
    features, image = torch.randn(3, 32, 4, 3), torch.randn(3, 3, 64, 48)
    evaluated = model.eval()(features, image)
    assert evaluated.shape == (3, 32, 64, 48)
    torch.testing.assert_close(model.train()(features, image), evaluated, rtol=0, atol=0)
    torch.testing.assert_close(model(features[1:2], image[1:2]), evaluated[1:2])
    model.windows_per_pass = 3  # the GPU path: windows stacked in every sum
    torch.testing.assert_close(model(features, image), evaluated)


def test_half_precision_inputs(lightning_file):
    model = load_simfeatup(lightning_file, feat_dim=32)
    torch.manual_seed(4)
    features, image = torch.randn(1, 32, 3, 4), torch.randn(1, 3, 48, 64)
    out = model(features.bfloat16(), image.bfloat16())
    assert out.dtype == torch.bfloat16
    expected = model(features.bfloat16().float(), image.bfloat16().float())
    torch.testing.assert_close(out.float(), expected, rtol=2e-2, atol=2e-2)


def test_grid_below_3_is_one_line():
    with pytest.raises(ConfigError, match="at least 3x3") as info:
        SimFeatUp(8)(torch.randn(1, 8, 2, 4), torch.randn(1, 3, 32, 64))
    assert "\n" not in str(info.value)


# --- the loader ---------------------------------------------------------------------------


def test_loader_reads_lightning_file_strictly(lightning_file):
    model = load_simfeatup(lightning_file, feat_dim=32)
    expected = random_weights(32)
    assert set(model.state_dict()) == set(expected)
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_published_key_names_and_shapes():
    state = SimFeatUp(512).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == KEYS
    assert sum(v.numel() for v in state.values()) == 293_729


@pytest.mark.parametrize("prefix", ["", "upsampler."])
def test_loader_accepts_a_bare_state_dict(tmp_path, prefix):
    state = random_weights(32, seed=7)
    path = tmp_path / "bare.pth"
    torch.save({prefix + k: v for k, v in state.items()}, path)
    model = load_simfeatup(str(path), feat_dim=32)
    assert torch.equal(
        model.state_dict()["up.fixup_proj.0.weight"], state["up.fixup_proj.0.weight"]
    )


def one_line_error(path, **kwargs) -> str:
    with pytest.raises(CheckpointError) as info:
        load_simfeatup(str(path), **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_loader_rejects_a_featup_jbu_stack_file(tmp_path):
    state = {}
    for level in range(1, 5):
        state[f"upsampler.up{level}.range_temp"] = torch.tensor(0.0)
        state[f"upsampler.up{level}.sigma_spatial"] = torch.tensor(1.0)
        state[f"upsampler.up{level}.fixup_proj.0.weight"] = torch.zeros(49, 52, 1, 1)
        state[f"upsampler.up{level}.fixup_proj.0.bias"] = torch.zeros(49)
    state["upsampler.fixup_proj.1.weight"] = torch.zeros(512, 512, 1, 1)
    state["upsampler.fixup_proj.1.bias"] = torch.zeros(512)
    path = tmp_path / "clip_jbu_stack_cocostuff.ckpt"
    torch.save({"epoch": 0, "global_step": 1000, "state_dict": state}, path)
    message = one_line_error(path)
    assert "jbu_stack" in message and "jbu_one" in message
    assert "SegEarth-OV" in message and "xclip_jbu_one_million_aid.ckpt" in message


def test_loader_rejects_a_truncated_file(tmp_path, lightning_file):
    data = open(lightning_file, "rb").read()
    path = tmp_path / "truncated.ckpt"
    path.write_bytes(data[: len(data) // 2])
    assert "not a loadable" in one_line_error(path, feat_dim=32)


def test_loader_names_other_files(tmp_path):
    assert "no such file" in one_line_error(tmp_path / "missing.ckpt")
    clip = tmp_path / "clip.pt"
    torch.save(
        {"visual.conv1.weight": torch.zeros(1), "visual.class_embedding": torch.zeros(1)}, clip
    )
    assert "OpenCLIP" in one_line_error(clip)
    other = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(2)}, other)
    assert "not a SimFeatUp" in one_line_error(other)
    partial = tmp_path / "partial.pt"
    torch.save(
        {k: v for k, v in random_weights(32).items() if k != "up.range_proj.3.bias"}, partial
    )
    assert "missing up.range_proj.3.bias" in one_line_error(partial, feat_dim=32)
    no_final = tmp_path / "no_final.pt"
    torch.save({k: v for k, v in random_weights(32).items() if not k.startswith("fixup")}, no_final)
    assert "missing fixup_proj.1.weight" in one_line_error(no_final, feat_dim=32)


def test_feature_size_mismatch(tmp_path, lightning_file):
    message = one_line_error(lightning_file, feat_dim=768)
    assert "32-d features" in message and "768-d" in message
    forced = load_simfeatup(lightning_file, feat_dim=768, force=True)
    assert forced.fixup_proj is None and set(forced.state_dict()) == set(KEYS) - {
        "fixup_proj.1.weight",
        "fixup_proj.1.bias",
    }
    features, image = torch.randn(1, 768, 3, 3), torch.randn(1, 3, 48, 48)
    out = forced(features, image)
    assert out.shape == (1, 768, 48, 48)
    reference = reference_upsampler(forced.double(), features.double(), image.double())
    torch.testing.assert_close(
        forced(features.double(), image.double()), reference, rtol=0, atol=1e-11
    )


# --- where it applies ---------------------------------------------------------------------


def test_check_applies():
    check_applies(512, 16)
    for feat_dim, patch, what in [(512, 32, "patch 32"), (768, 16, "768-d"), (768, 14, "patch 14")]:
        with pytest.raises(ConfigError, match=what) as info:
            check_applies(feat_dim, patch, override="--force-upsampler")
        assert "\n" not in str(info.value) and "--force-upsampler" in str(info.value)
        check_applies(feat_dim, patch, force=True)
    check_grid(3, 14)
    with pytest.raises(ConfigError, match="48 px"):
        check_grid(2, 14)
