"""What a dense method may read of an image tower, whatever its family.

A family (OpenCLIP/LongCLIP, EVA02, TIPS, ...) exposes its ViT through the small ``Tower``
interface below: the token embedding, each block run unchanged, and the pieces of a block a
method rebuilds (its first norm and per-head q/k/v, its output projection, its residual
tail), then the final norm and projection. Methods (``dense.METHODS``) are written once
against it, so every method runs on every backbone whose pieces exist.

All tensors are batch-first: tokens (B, N, C) with ``prefix`` CLS/register tokens first (CLS
at index 0), then the patch grid row-major; per-head tensors (B, heads, N, head_dim).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class DenseFeatures:
    """A method's output for a batch of windows.

    ``patches`` (B, gh * gw, D) in the joint image-text space, not normalised, row-major over
    ``grid`` (which may differ from the CLIP grid: ProxyCLIP's is its proxy's); ``cls``
    (B, D), or None for a method without one (SC-CLIP).
    """

    patches: Tensor
    cls: Tensor | None
    grid: tuple[int, int]


class Tower:
    """The interface a family's model implements (a mixin; attributes set by the family).

    Attributes:
        depth: number of residual blocks.
        num_heads: attention heads of a block.
        prefix: tokens before the patch grid (CLS, registers).
        patch_size: side of a patch in pixels.
        image_size: (H, W) the tower was built for.
    """

    depth: int
    num_heads: int
    prefix: int
    patch_size: int
    image_size: tuple[int, int]

    def grid(self, images: Tensor) -> tuple[int, int]:
        """The patch grid of model-ready ``images`` (sides multiples of the patch)."""
        return images.shape[-2] // self.patch_size, images.shape[-1] // self.patch_size

    def embed(self, images: Tensor) -> Tensor:
        """(B, N, C) tokens entering block 0 (patch embedding, prefix tokens, positions,
        pre-norm); positions are interpolated when the grid is not the tower's own."""
        raise NotImplementedError

    def block(self, index: int, x: Tensor) -> Tensor:
        """Block ``index`` run unchanged."""
        raise NotImplementedError

    def qkv(self, index: int, x: Tensor, prefix: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(y, q, k, v) of block ``index``: y its first norm of ``x`` (B, N, C); q, k, v per
        head with the block's own projections and biases (and rotary positions on the tokens
        after ``prefix`` where the family has them)."""
        raise NotImplementedError

    def attn_out(self, index: int, heads_merged: Tensor) -> Tensor:
        """The block's attention output projection applied to ``A v`` (heads merged)."""
        raise NotImplementedError

    def tail(self, index: int, x: Tensor, out: Tensor) -> Tensor:
        """The residual branch as the dense path uses it: ``x + out`` then the MLP on top."""
        raise NotImplementedError

    def head(self, x: Tensor) -> Tensor:
        """Final norm and projection into the joint space, per token."""
        raise NotImplementedError

    def run_blocks(self, x: Tensor, stop: int) -> Tensor:
        """Blocks 0 .. ``stop - 1`` run unchanged."""
        for index in range(stop):
            x = self.block(index, x)
        return x
