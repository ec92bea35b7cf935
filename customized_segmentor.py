"""CustomizedSegmentation: the registered mmseg segmentor that runs training-free OVSS.

Orchestration only (SPEC §4-§7): query features from the model family, sliding windows
over the resized image, dense logits per window, the averaged canvas resized to the
original image, and logits -> labels (logit scale, synonyms, prob_thd, bg_idx). Every
argument arrives resolved (``ovss.config``): the segmentor decides nothing by itself.
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from torch import Tensor

from dense_attention import ATTENTIONS
from model_families import load_model, query_features
from ovss.errors import ConfigError
from ovss.zoo import LONG_CLIP_FLAG, ModelSource
from prompts import read_class_file


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

    Call flow of ``predict``: for each image, ``slide_logits`` cuts the windows, encodes
    them as one batch (``window_logits``: pad to the patch size, resize to the model input,
    dense features with the swappable last block, cosine with the query features, upsample
    back), averages them on a canvas and resizes it to the original image;
    ``class_probabilities`` and ``labels`` turn the logits into classes.

    Args:
        name_path: class file, one class per line, synonyms separated by commas.
        model_name: the zoo method (recorded; the weights come from ``pretrained``/``hub_tag``).
        vit_type: model config name of the family (e.g. an OpenCLIP config).
        family: model family in ``model_families.FAMILIES``.
        pretrained: checkpoint file, or None to load ``hub_tag``.
        hub_tag: hub weights (OpenAI, MetaCLIP) when there is no file.
        fqg: QuickGELU (the zoo's value or the flag).
        long_clip: None (detect from the weights), 'disable' or 'load_from_scratch'.
        model_type: last-layer attention, a key of ``dense_attention.ATTENTIONS``.
        ignore_residual: the last block outputs the attention alone (no residual, no MLP).
        prob_thd: below this winning probability a pixel becomes ``bg_idx``.
        slide_stride: sliding-window stride on the resized image (pixels).
        slide_crop: sliding-window side; 0 encodes the whole image as one window.
        cls_token_lambda: weight of the CLS-token logits added to every patch's logits.
        bg_idx: class given to pixels below ``prob_thd``.
        logit_scale: multiplies the cosine logits before the softmax over queries.
        device: where the model runs ('cpu', 'cuda', 'cuda:N').
        precision: 'fp32', 'fp16' or 'bf16' weights and activations.
        text_cache_dir: disk cache of query features (None: memory only).
        data_preprocessor: mmseg SegDataPreProcessor; None: the family's normalisation.
    """

    def __init__(
        self,
        name_path: str,
        model_name: str = "CLIP",
        vit_type: str = "ViT-B-16",
        family: str = "openclip",
        pretrained: str | None = None,
        hub_tag: str | None = None,
        fqg: bool = False,
        long_clip: str | None = None,
        model_type: str = "SegEarth",
        ignore_residual: bool = True,
        prob_thd: float = 0.0,
        slide_stride: int = 112,
        slide_crop: int = 224,
        cls_token_lambda: float = 0.0,
        bg_idx: int = 0,
        logit_scale: float = 50.0,
        device: str = "cpu",
        precision: str = "fp32",
        text_cache_dir: str | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        if model_type not in ATTENTIONS:
            raise ConfigError(f"model_type '{model_type}': choose one of {', '.join(ATTENTIONS)}")
        source = ModelSource(
            method=model_name,
            vit_type=vit_type,
            checkpoint=pretrained,
            tag=hub_tag,
            quick_gelu=bool(fqg),
            long_clip=LONG_CLIP_FLAG[long_clip],
            family=family,
        )
        model = load_model(source, device, precision)
        if data_preprocessor is None:
            data_preprocessor = dict(type="mmseg.SegDataPreProcessor", **model.preprocess)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.model = model
        queries, query_idx = read_class_file(name_path)
        self.queries = queries
        self.register_buffer(
            "query_features", query_features(model, queries, text_cache_dir), persistent=False
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
    def window_logits(self, windows: Tensor) -> Tensor:
        """(n, Q, h, w) cosine logits for same-size windows: pad to the patch size, resize
        to the model input, encode, upsample the patch grid back, cut the padding."""
        height, width = windows.shape[-2:]
        patch = self.model.patch_size
        left, right, top, bottom = pad_to_patch(height, width, patch)
        x = F.pad(windows, (left, right, top, bottom))
        padded = x.shape[-2:]
        input_size = tuple(self.model.image_size)
        if tuple(padded) != input_size:
            x = F.interpolate(x, size=input_size, mode="bilinear", align_corners=False)
        feats = self.model.dense_features(
            x.to(self.query_features.dtype), self.model_type, self.ignore_residual
        )
        feats = feats / feats.norm(dim=-1, keepdim=True)
        logits = feats[:, 1:] @ self.query_features.T  # (n, g*g, Q)
        if self.cls_token_lambda:
            logits = logits + self.cls_token_lambda * (feats[:, :1] @ self.query_features.T)
        grid_h, grid_w = input_size[0] // patch, input_size[1] // patch
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
        return self.model.dense_features(
            inputs.to(self.query_features.dtype), self.model_type, self.ignore_residual
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
