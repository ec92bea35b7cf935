"""The simplest methods: the tower runs unchanged up to its last block, whose attention
matrix is one of ``dense.attentions.ATTENTIONS`` (docs/protocol.md of the published protocol)."""

from __future__ import annotations

from torch import Tensor

from .attentions import Attention, attend
from .tower import DenseFeatures, Tower


class LastLayerAttention:
    """Dense features with the last block's attention replaced.

    With ``ignore_residual`` the last block outputs the attention alone (no residual, no
    MLP); the original last block is never computed.
    """

    needs_queries = False

    def __init__(self, tower: Tower, attention: Attention, ignore_residual: bool = True) -> None:
        self.tower = tower
        self.attention = attention
        self.ignore_residual = ignore_residual

    def facts(self) -> dict:
        """Nothing to report beyond the configured options."""
        return {}

    def __call__(self, images: Tensor, queries: Tensor | None = None) -> DenseFeatures:
        tower = self.tower
        grid = tower.grid(images)
        x = tower.run_blocks(tower.embed(images), tower.depth - 1)
        tokens = tower.head(last_block(tower, x, self.attention, self.ignore_residual, grid))
        return DenseFeatures(tokens[:, tower.prefix :], tokens[:, 0], grid)


def last_block(
    tower: Tower, x: Tensor, attention: Attention, ignore_residual: bool, grid: tuple[int, int]
) -> Tensor:
    """The tower's last block on ``x`` with its attention matrix replaced."""
    last = tower.depth - 1
    y, q, k, v = tower.qkv(last, x, tower.prefix)
    out = tower.attn_out(last, attend(q, k, v, attention, y, grid, tower.prefix))
    return out if ignore_residual else tower.tail(last, x, out)
