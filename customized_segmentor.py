"""CustomizedSegmentation: the registered mmseg segmentor that runs training-free OVSS.

Orchestration only (SPEC §4-§7): query features from ``long_clip``, sliding windows over the
resized image, dense logits per window from ``dense_attention``, the averaged canvas resized
to the original image, and logits -> labels (logit scale, synonyms, prob_thd, bg_idx).
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from torch import Tensor

from dense_attention import ATTENTIONS, dense_features, patch_size
from long_clip import LoadedModel, load_clip, query_features, resolve_source
from prompts import read_class_file

CLIP_MEAN = (122.771, 116.746, 104.094)  # OpenAI CLIP normalisation, 0-255 scale, RGB
CLIP_STD = (68.501, 66.632, 70.323)
_LOADED: dict[tuple, LoadedModel] = {}  # one CLIP per process, shared across datasets


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def default_precision(device: str) -> str:
    """fp16 on CUDA (as the published runs), fp32 on CPU."""
    return "fp16" if str(device).startswith("cuda") else "fp32"


def get_clip(source, device: str, precision: str) -> LoadedModel:
    """Load each (weights, settings, device, precision) once per process."""
    key = (source, device, precision)
    if key not in _LOADED:
        _LOADED.clear()  # keep one model in memory
        _LOADED[key] = load_clip(source, device=device, precision=precision)
    return _LOADED[key]


def pad_to_patch(height: int, width: int, patch: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) zero padding to the next multiple of ``patch``; the odd
    pixel goes right/bottom."""
    pad_w = -width % patch
    pad_h = -height % patch
    return pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2


def slide_windows(
    height: int, width: int, crop: int, stride: int
) -> list[tuple[int, int, int, int]]:
    """mmseg slide-inference windows (y1, y2, x1, x2); the last one is pulled back to be full."""

    def starts(size: int) -> list[tuple[int, int]]:
        n = max(size - crop + stride - 1, 0) // stride + 1
        spans = []
        for i in range(n):
            end = min(i * stride + crop, size)
            spans.append((max(end - crop, 0), end))
        return spans

    return [(y1, y2, x1, x2) for y1, y2 in starts(height) for x1, x2 in starts(width)]


@MODELS.register_module()
class CustomizedSegmentation(BaseSegmentor):
    """Training-free open-vocabulary segmentation with a CLIP-family model.

    The keys are those of the published configs (SPEC §2-§7); ``long_clip`` is None (detect
    from weights), 'disable' or 'load_from_scratch'.
    """

    def __init__(
        self,
        name_path: str,
        model_name: str = "CLIP",
        vit_type: str = "ViT-B-16",
        model_type: str = "SegEarth",
        ignore_residual: bool = True,
        prob_thd: float = 0.0,
        slide_stride: int = 112,
        slide_crop: int = 224,
        cls_token_lambda: float = 0.0,
        bg_idx: int = 0,
        logit_scale: float = 50.0,
        pretrained: str | None = None,
        long_clip: str | None = None,
        fqg: bool = False,
        device: str | None = None,
        precision: str | None = None,
        checkpoint_dir: str = "checkpoints",
        text_cache_dir: str | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type="mmseg.SegDataPreProcessor", mean=CLIP_MEAN, std=CLIP_STD, bgr_to_rgb=True
            )
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if model_type not in ATTENTIONS:
            raise ValueError(f"model_type '{model_type}': choose one of {', '.join(ATTENTIONS)}")
        device = device or default_device()
        precision = precision or default_precision(device)
        source = resolve_source(model_name, vit_type, pretrained, checkpoint_dir, fqg, long_clip)
        self.clip = get_clip(source, device, precision)
        self.net = self.clip.model
        if not hasattr(self.net.visual, "transformer"):
            raise ValueError(
                f"--vit-type {vit_type}: dense features need a ViT image tower (not a ResNet)"
            )
        queries, query_idx = read_class_file(name_path)
        self.queries = queries
        self.register_buffer(
            "query_features", query_features(self.clip, queries, text_cache_dir), persistent=False
        )
        self.register_buffer("query_idx", torch.tensor(query_idx), persistent=False)
        self.num_classes = max(query_idx) + 1
        self.model_type = model_type
        self.ignore_residual = ignore_residual
        self.prob_thd = prob_thd
        self.bg_idx = bg_idx
        self.slide_stride = slide_stride
        self.slide_crop = slide_crop
        self.cls_token_lambda = cls_token_lambda
        self.logit_scale = logit_scale
        self.precision = precision

    # ----------------------------------------------------------------- image side
    @property
    def patch_size(self) -> int:
        return patch_size(self.net.visual)

    def window_logits(self, windows: Tensor) -> Tensor:
        """(n, Q, h, w) cosine logits for same-size windows: pad to the patch size, resize
        to the model input, encode, upsample the patch grid back, cut the padding."""
        height, width = windows.shape[-2:]
        left, right, top, bottom = pad_to_patch(height, width, self.patch_size)
        x = F.pad(windows, (left, right, top, bottom))
        padded = x.shape[-2:]
        input_size = tuple(self.net.visual.image_size)
        if tuple(padded) != input_size:
            x = F.interpolate(x, size=input_size, mode="bilinear", align_corners=False)
        feats = dense_features(
            self.net.visual, x.to(self.query_features.dtype), self.model_type, self.ignore_residual
        )
        feats = feats / feats.norm(dim=-1, keepdim=True)
        logits = feats[:, 1:] @ self.query_features.T  # (n, g*g, Q)
        if self.cls_token_lambda:
            logits = logits + self.cls_token_lambda * (feats[:, :1] @ self.query_features.T)
        grid_h, grid_w = input_size[0] // self.patch_size, input_size[1] // self.patch_size
        logits = logits.float().permute(0, 2, 1).reshape(len(x), -1, grid_h, grid_w)
        logits = F.interpolate(logits, size=padded, mode="bilinear", align_corners=False)
        return logits[:, :, top : top + height, left : left + width]

    def slide_logits(self, image: Tensor, ori_shape: tuple[int, int]) -> Tensor:
        """(Q, H0, W0): window logits averaged on the resized image, resized to the original."""
        _, _, height, width = image.shape
        if self.slide_crop > 0:
            boxes = slide_windows(height, width, self.slide_crop, self.slide_stride)
        else:
            boxes = [(0, height, 0, width)]
        windows = torch.cat([image[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in boxes])
        logits = self.window_logits(windows)
        canvas = logits.new_zeros((1, logits.shape[1], height, width))
        count = logits.new_zeros((1, 1, height, width))
        for (y1, y2, x1, x2), window in zip(boxes, logits, strict=True):
            canvas[0, :, y1:y2, x1:x2] += window
            count[0, :, y1:y2, x1:x2] += 1
        canvas = canvas / count
        return F.interpolate(canvas, size=tuple(ori_shape), mode="bilinear", align_corners=False)[0]

    # ----------------------------------------------------------------- labels
    def class_probabilities(self, logits: Tensor) -> Tensor:
        """(C, H, W): softmax over queries of scaled logits; a class takes its best synonym."""
        probs = (logits * self.logit_scale).softmax(dim=0)
        if len(self.queries) == self.num_classes:
            return probs
        return torch.stack(
            [probs[self.query_idx == c].amax(dim=0) for c in range(self.num_classes)]
        )

    def labels(self, class_probs: Tensor) -> Tensor:
        """(1, H, W) argmax class; below ``prob_thd`` it becomes ``bg_idx``."""
        best, pred = class_probs.max(dim=0, keepdim=True)
        pred[best < self.prob_thd] = self.bg_idx
        return pred

    # ----------------------------------------------------------------- mmseg interface
    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: list | None = None) -> list:
        if data_samples is None:
            raise ValueError("CustomizedSegmentation.predict needs data_samples (ori_shape)")
        for image, sample in zip(inputs, data_samples, strict=True):
            logits = self.slide_logits(image[None], sample.metainfo["ori_shape"][:2])
            probs = self.class_probabilities(logits)
            sample.set_data(
                {
                    "seg_logits": PixelData(data=probs),
                    "pred_sem_seg": PixelData(data=self.labels(probs)),
                }
            )
        return data_samples

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """Query logits at each image's original size (mmseg's name for the dense forward)."""
        return torch.stack(
            [
                self.slide_logits(image[None], meta["ori_shape"][:2])
                for image, meta in zip(inputs, batch_img_metas, strict=True)
            ]
        )

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Projected dense tokens of model-size inputs (CLS first)."""
        return dense_features(
            self.net.visual,
            inputs.to(self.query_features.dtype),
            self.model_type,
            self.ignore_residual,
        )

    def _forward(self, inputs: Tensor, data_samples: list | None = None) -> Tensor:
        metas = (
            [s.metainfo for s in data_samples]
            if data_samples
            else [{"ori_shape": inputs.shape[-2:]}] * len(inputs)
        )
        return self.encode_decode(inputs, metas)

    def loss(self, inputs: Tensor, data_samples: list) -> dict:
        raise NotImplementedError("CustomizedSegmentation is training-free: there is no loss")
