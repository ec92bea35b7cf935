"""open_clip's ViT image tower as a ``dense.Tower`` (OpenCLIP, LongCLIP, MetaCLIP, COSMOS,
FLAIR, the demo model: every family whose image tower is open_clip's ``VisionTransformer``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dense.tower import Tower


def patch_size(visual: nn.Module) -> int:
    """The ViT's (square) patch side."""
    patch = visual.patch_size
    return patch if isinstance(patch, int) else patch[0]


class OpenCLIPTower(Tower):
    """open_clip's ``VisionTransformer``: resblocks of ``nn.MultiheadAttention`` (one fused
    in-projection with bias), ``ln_post`` then ``proj``."""

    prefix = 1

    def __init__(self, visual: nn.Module) -> None:
        self.visual = visual
        self.blocks = visual.transformer.resblocks
        self.batch_first = getattr(visual.transformer, "batch_first", True)
        self.depth = len(self.blocks)
        self.num_heads = self.blocks[-1].attn.num_heads
        self.patch_size = patch_size(visual)
        self.image_size = tuple(visual.image_size)

    def embed(self, images: Tensor) -> Tensor:
        visual = self.visual
        grid = self.grid(images)
        if grid == (self.image_size[0] // self.patch_size, self.image_size[1] // self.patch_size):
            return visual._embeds(images)  # conv1 + CLS + positions + ln_pre (open_clip)
        x = visual.conv1(images).flatten(2).transpose(1, 2)
        cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + interpolated_positions(visual, grid).to(x.dtype)
        return visual.ln_pre(visual.patch_dropout(x))

    def block(self, index: int, x: Tensor) -> Tensor:
        if self.batch_first:
            return self.blocks[index](x)
        return self.blocks[index](x.transpose(0, 1)).transpose(0, 1)

    def run_blocks(self, x: Tensor, stop: int) -> Tensor:
        """As open_clip runs them (one layout change for all blocks, not one per block)."""
        if not self.batch_first:
            x = x.transpose(0, 1)
        for block in self.blocks[:stop]:
            x = block(x)
        return x if self.batch_first else x.transpose(0, 1)

    def qkv(self, index: int, x: Tensor, prefix: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        block = self.blocks[index]
        mha: nn.MultiheadAttention = block.attn
        bsz, n, c = x.shape
        y = block.ln_1(x)
        qkv = F.linear(y, mha.in_proj_weight, mha.in_proj_bias)
        q, k, v = qkv.reshape(bsz, n, 3, mha.num_heads, c // mha.num_heads).permute(2, 0, 3, 1, 4)
        return y, q, k, v

    def attn_out(self, index: int, heads_merged: Tensor) -> Tensor:
        return self.blocks[index].attn.out_proj(heads_merged)

    def tail(self, index: int, x: Tensor, out: Tensor) -> Tensor:
        block = self.blocks[index]
        x = x + out
        return x + block.mlp(block.ln_2(x))

    def head(self, x: Tensor) -> Tensor:
        x = self.visual.ln_post(x)
        return x @ self.visual.proj if self.visual.proj is not None else x


def interpolated_positions(visual: nn.Module, grid: tuple[int, int]) -> Tensor:
    """Position embeddings for another patch grid, as the OpenAI-CLIP forks of SegEarth-OV
    and ProxyCLIP resize them: the CLS entry kept, the patch table bicubic with
    ``scale_factor = (new + 0.1) / old`` per side (a scale, not a target size)."""
    pos = visual.positional_embedding
    old = round((pos.shape[0] - 1) ** 0.5)
    table = pos[1:].reshape(1, old, old, -1).permute(0, 3, 1, 2)
    scale = ((grid[0] + 0.1) / old, (grid[1] + 0.1) / old)
    table = F.interpolate(table.float(), scale_factor=scale, mode="bicubic", align_corners=False)
    table = table[:, :, : grid[0], : grid[1]].permute(0, 2, 3, 1).reshape(-1, pos.shape[1])
    return torch.cat([pos[:1], table.to(pos.dtype)])
