"""CustomizedSegmentation: the registered mmseg segmentor that runs training-free OVSS.

Orchestration only (docs/protocol.md): query features from the model family, sliding windows
over the resized image, dense logits per window, the averaged canvas resized to the
original image, and logits -> labels (logit scale, synonyms, prob_thd, bg_idx). Every
argument arrives resolved (``ovss.config``): the segmentor decides nothing by itself.
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from torch import Tensor

from dense import DenseFeatures, build_method
from dense.simfeatup import load_simfeatup
from foundation.methods import METHODS as METHOD_INFO
from foundation.methods import canonical_method
from foundation.profile import milestone
from foundation.upsamplers import check_applies
from foundation.zoo import source_from_config
from model_families import load_model, query_features
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


# Windows upsampled at once (x16 features: ~100 MB per 224 window in fp32).
UPSAMPLER_WINDOWS = 4


@MODELS.register_module()
class OVSSDataPreProcessor(SegDataPreProcessor):
    """mmseg's SegDataPreProcessor, but a test batch may mix image sizes: the images stay a
    list (each normalised on the device) instead of one stacked tensor, because the
    segmentor batches their windows, which all share the model's input size."""

    def __init__(self, non_blocking: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self._non_blocking = non_blocking  # with pinned loader memory: asynchronous copies

    def forward(self, data: dict, training: bool = False) -> dict:
        if training:
            return super().forward(data, training)
        data = self.cast_data(data)
        inputs = data["inputs"]
        if self.channel_conversion and inputs[0].size(0) == 3:
            inputs = [x[[2, 1, 0], ...] for x in inputs]
        inputs = [x.float() for x in inputs]
        if self._enable_normalize:
            inputs = [(x - self.mean) / self.std for x in inputs]
        return dict(inputs=inputs, data_samples=data.get("data_samples"))


@MODELS.register_module()
class CustomizedSegmentation(BaseSegmentor):
    """Training-free open-vocabulary segmentation with a CLIP-family model.

    Call flow of ``predict``: ``slide_logits_batch`` cuts every image's windows and prepares
    them (``prepare_windows``: pad to the patch size, resize to the model input), encodes
    the windows of all images together, ``window_batch`` at a time (``grid_logits``: dense
    features with the swappable last block, cosine with the query features), upsamples each
    window's grid back (``restore``), averages the windows on each image's canvas and resizes
    it to the original image; ``class_probabilities`` and ``labels`` turn logits into classes.

    Args:
        name_path: class file, one class per line, synonyms separated by commas.
        model_name: the zoo method (recorded; the weights come from ``pretrained``/``hub_tag``).
        vit_type: model config name of the family (e.g. an OpenCLIP config).
        family: model family in ``model_families.FAMILIES``.
        pretrained: checkpoint file, or None to load ``hub_tag``.
        hub_tag: hub weights (OpenAI, MetaCLIP) when there is no file.
        fqg: QuickGELU (the zoo's value or the flag).
        long_clip: None (detect from the weights), 'disable' or 'load_from_scratch'.
        model_type: how dense features are computed, a key of ``dense.METHODS``: one of the
            nine last-layer attentions, or a method reading more of the tower.
        ignore_residual: the last block outputs the attention alone (no residual, no MLP).
        method_options: the method's own hyper-parameters (None: its published defaults).
        upsampler: SegEarth-OV's SimFeatUp weights file (None: logits upsampled bilinearly
            from the method's grid); with it, windows keep their size (not resized to the
            model input) and features are upsampled x16 to pixels before the dot product.
        force_upsampler: use the upsampler on a model it was not trained for (an extension).
        prob_thd: below this winning probability a pixel becomes ``bg_idx``.
        slide_stride: sliding-window stride on the resized image (pixels).
        slide_crop: sliding-window side; 0 encodes the whole image as one window.
        cls_token_lambda: weight of the CLS-token logits added to every patch's logits.
        bg_idx: class given to pixels below ``prob_thd``.
        logit_scale: multiplies the cosine logits before the softmax over queries.
        device: where the model runs ('cpu', 'cuda', 'cuda:N').
        precision: 'fp32', 'fp16' or 'bf16' weights and activations.
        text_cache_dir: disk cache of query features (None: memory only).
        window_batch: windows per forward pass, taken across the images of a batch (speed
            only: 1 is the one-window-at-a-time mode).
        keep_probs: also keep each image's per-class probability maps (``seg_logits``).
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
        window_batch: int = 64,
        keep_probs: bool = False,
        method_options: dict | None = None,
        upsampler: str | None = None,
        force_upsampler: bool = False,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        model_type = canonical_method(model_type)
        source = source_from_config(
            dict(
                model_name=model_name,
                vit_type=vit_type,
                pretrained=pretrained,
                hub_tag=hub_tag,
                fqg=fqg,
                long_clip=long_clip,
                family=family,
            )
        )
        model = load_model(source, device, precision)
        if data_preprocessor is None:
            data_preprocessor = dict(type="mmseg.OVSSDataPreProcessor", **model.preprocess)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.model = model
        options = dict(method_options or {})
        if METHOD_INFO[model_type].needs_queries:  # a feedback pass: the protocol's scale
            options["logit_scale"] = logit_scale
        if METHOD_INFO[model_type].needs_pixels:  # e.g. a proxy's own normalisation
            options["preprocess"] = model.preprocess
        self.method = build_method(model_type, model.tower, ignore_residual, **options)
        queries, query_idx = read_class_file(name_path)
        self.queries = queries
        self.register_buffer(
            "query_features", query_features(model, queries, text_cache_dir), persistent=False
        )
        self.register_buffer("query_idx", torch.tensor(query_idx), persistent=False)
        self.num_classes = max(query_idx) + 1
        self.upsampler, self.upsampler_dtype = None, torch.float32
        if upsampler:
            feat_dim = self.query_features.shape[-1]
            check_applies(feat_dim, model.patch_size, force_upsampler, "--force-upsampler")
            if device != "cpu":  # SimFeatUp computes in float32 inside either way
                self.upsampler_dtype = self.query_features.dtype
            self.upsampler = load_simfeatup(upsampler, feat_dim, force_upsampler).to(
                device=device, dtype=self.upsampler_dtype
            )
        self.model_type = model_type
        self.ignore_residual = ignore_residual
        self.prob_thd = prob_thd
        self.bg_idx = bg_idx
        self.slide_stride = slide_stride
        self.slide_crop = slide_crop
        self.cls_token_lambda = cls_token_lambda
        self.logit_scale = logit_scale
        self.window_batch = max(int(window_batch), 1)
        self.keep_probs = keep_probs

    @property
    def loaded(self) -> dict:
        """Facts read from the weights and decided by the method while running, recorded
        with each dataset's results."""
        facts = self.method.facts()
        return {**self.model.loaded, **({"method_facts": facts} if facts else {})}

    # ----------------------------------------------------------------- image side
    def prepare_windows(self, windows: Tensor) -> tuple[Tensor, tuple[int, int], tuple]:
        """Same-size windows -> model inputs: zero-pad to the patch size (odd pixel right /
        bottom), resize to the model input (with the upsampler, as SegEarth-OV: not resized,
        the tower interpolates its positions instead). Returns (inputs, padded size,
        padding)."""
        height, width = windows.shape[-2:]
        pads = pad_to_patch(height, width, self.model.patch_size)
        x = F.pad(windows, pads)
        padded = tuple(x.shape[-2:])
        input_size = tuple(self.model.image_size)
        if padded != input_size and self.upsampler is None:
            x = F.interpolate(x, size=input_size, mode="bilinear", align_corners=False)
        return x, padded, pads

    def grid_logits(self, inputs: Tensor) -> Tensor:
        """(n, Q, gh, gw) cosine logits of model-size inputs on the method's grid (+ the CLS
        term if asked for)."""
        out = self.extract_feat(inputs)
        feats = out.patches / out.patches.norm(dim=-1, keepdim=True)
        logits = feats @ self.query_features.T  # (n, gh*gw, Q)
        if self.cls_token_lambda and out.cls is not None:
            cls = out.cls / out.cls.norm(dim=-1, keepdim=True)
            logits = logits + self.cls_token_lambda * (cls[:, None] @ self.query_features.T)
        return logits.float().permute(0, 2, 1).reshape(len(inputs), -1, *out.grid)

    def pixel_logits(self, inputs: Tensor) -> Tensor:
        """(n, Q, H, W) cosine logits at pixel resolution, SegEarth-OV's full path: the
        method's patch features (projected, not normalised) upsampled by SimFeatUp guided by
        the window itself, L2-normalised per pixel, dot the queries (+ the CLS term)."""
        out = self.extract_feat(inputs)
        n, dtype = len(inputs), self.upsampler_dtype
        feats = out.patches.transpose(1, 2).reshape(n, -1, *out.grid)
        parts = []
        for f, guide in zip(
            feats.split(UPSAMPLER_WINDOWS), inputs.split(UPSAMPLER_WINDOWS), strict=True
        ):
            up = self.upsampler(f.to(dtype), guide.to(dtype))
            up = up / up.norm(dim=1, keepdim=True)
            parts.append(torch.einsum("ndhw,qd->nqhw", up, self.query_features.to(dtype)))
        logits = torch.cat(parts).float()
        if self.cls_token_lambda and out.cls is not None:
            cls = out.cls / out.cls.norm(dim=-1, keepdim=True)
            cls_logits = (cls @ self.query_features.T).float()
            logits = logits + self.cls_token_lambda * cls_logits[:, :, None, None]
        return logits

    def encode(self, inputs: Tensor) -> Tensor:
        """grid_logits (or pixel_logits with the upsampler), ``window_batch`` windows per
        forward pass."""
        milestone("first forward pass starts")
        logits = self.grid_logits if self.upsampler is None else self.pixel_logits
        chunks = [logits(chunk) for chunk in inputs.split(self.window_batch)]
        milestone("first window encoded")
        return torch.cat(chunks)

    @staticmethod
    def restore(grid: Tensor, padded: tuple[int, int], pads: tuple, size: tuple) -> Tensor:
        """Grid logits back to window pixels: upsample to the padded window, cut the padding."""
        left, _, top, _ = pads
        logits = F.interpolate(grid, size=padded, mode="bilinear", align_corners=False)
        return logits[:, :, top : top + size[0], left : left + size[1]]

    def window_logits(self, windows: Tensor) -> Tensor:
        """(n, Q, h, w) cosine logits for same-size windows."""
        inputs, padded, pads = self.prepare_windows(windows)
        return self.restore(self.encode(inputs), padded, pads, tuple(windows.shape[-2:]))

    def boxes(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        if self.slide_crop > 0:
            return slide_windows(height, width, self.slide_crop, self.slide_stride)
        return [(0, height, 0, width)]

    def slide_logits_batch(self, images: Sequence[Tensor], ori_shapes: Sequence) -> list[Tensor]:
        """(Q, H0, W0) per image: the windows of all images are encoded together (every
        window is resized to the model input, so they batch across images and sizes; with
        the upsampler, windows of one size batch together), then
        each image's windows are averaged on its canvas and resized to its original size."""
        plans, inputs = [], []
        for image in images:
            image = image if image.dim() == 4 else image[None]
            boxes = self.boxes(*image.shape[-2:])
            windows = torch.cat([image[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in boxes])
            x, padded, pads = self.prepare_windows(windows)
            plans.append((image.shape[-2:], boxes, padded, pads, tuple(windows.shape[-2:])))
            inputs.append(x)
        if len({tuple(x.shape[-2:]) for x in inputs}) == 1:
            grids = self.encode(torch.cat(inputs)).split([len(x) for x in inputs])
        else:  # native-size windows (upsampler) of images of different sizes
            grids = [self.encode(x) for x in inputs]
        out = []
        for (size, boxes, padded, pads, window), grid, ori in zip(
            plans, grids, ori_shapes, strict=True
        ):
            logits = self.restore(grid, padded, pads, window)
            canvas = logits.new_zeros((1, logits.shape[1], *size))
            count = logits.new_zeros((1, 1, *size))
            for (y1, y2, x1, x2), one in zip(boxes, logits, strict=True):
                canvas[0, :, y1:y2, x1:x2] += one
                count[0, :, y1:y2, x1:x2] += 1
            canvas = canvas / count
            resized = F.interpolate(canvas, size=tuple(ori), mode="bilinear", align_corners=False)
            out.append(resized[0])
        return out

    def slide_logits(self, image: Tensor, ori_shape: tuple[int, int]) -> Tensor:
        """(Q, H0, W0): window logits averaged on the resized image, resized to the original."""
        return self.slide_logits_batch([image], [ori_shape])[0]

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
    def predict(self, inputs: Tensor | list[Tensor], data_samples: list | None = None) -> list:
        """Labels (``pred_sem_seg``) at each image's original size; the per-class
        probabilities (``seg_logits``) only with ``keep_probs`` (they are full-size maps)."""
        if data_samples is None:
            raise ValueError("CustomizedSegmentation.predict needs data_samples (ori_shape)")
        shapes = [sample.metainfo["ori_shape"][:2] for sample in data_samples]
        for logits, sample in zip(
            self.slide_logits_batch(inputs, shapes), data_samples, strict=True
        ):
            probs = self.class_probabilities(logits)
            sample.set_data({"pred_sem_seg": PixelData(data=self.labels(probs))})
            if self.keep_probs:
                sample.set_data({"seg_logits": PixelData(data=probs)})
        return data_samples

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """Query logits at each image's original size (mmseg's name for the dense forward)."""
        shapes = [meta["ori_shape"][:2] for meta in batch_img_metas]
        return torch.stack(self.slide_logits_batch(list(inputs), shapes))

    def extract_feat(self, inputs: Tensor) -> DenseFeatures:
        """The method's projected dense features of model-size inputs."""
        queries = self.query_features if self.method.needs_queries else None
        return self.method(inputs.to(self.query_features.dtype), queries)

    def _forward(self, inputs: Tensor, data_samples: list | None = None) -> Tensor:
        metas = (
            [s.metainfo for s in data_samples]
            if data_samples
            else [{"ori_shape": inputs.shape[-2:]}] * len(inputs)
        )
        return self.encode_decode(inputs, metas)

    def loss(self, inputs: Tensor, data_samples: list) -> dict:
        raise NotImplementedError("CustomizedSegmentation is training-free: there is no loss")
