"""The style-mixing figure (Karras et al. 2019, arXiv:1812.04948, fig. 3).

A style-based generator takes one style w per synthesis layer (``ws``: (B, num_ws, w_dim)).
Copying the entries of one block of layers from source B onto source A's ws,

    ws_mix[:, k] = ws_B[:, k]  for k in the block,  ws_A[:, k]  otherwise,

shows what those layers control: the coarse ones (4-8 px) pose and shape, the middle ones
(16-32 px) features, the fine ones colour and texture (the game's :meth:`style_layers` says
which entries are which at its resolution).

Layout of the grid, (1 + 3 * rows) rows by (1 + cols) columns:

- row 0: an empty cell, then the ``cols`` sources A;
- then three blocks of ``rows`` rows, in the order coarse, middle, fine; row i of a block
  starts with source B_i (the same B's in each block) followed by B_i's block of styles
  copied onto each A.

Every row is rendered with the same random state, so a generator's per-layer noise is the
same down each column (as in the source row A).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.latent_file import with_fixed_noise

BLOCKS = ("coarse", "middle", "fine")


def mix_ws(ws_a: torch.Tensor, ws_b: torch.Tensor, layers: slice) -> torch.Tensor:
    """``ws_a`` with its entries ``layers`` (dim 1) taken from ``ws_b`` (broadcast to
    ``ws_a``'s batch)."""
    out = ws_a.clone()
    out[:, layers] = ws_b.expand_as(ws_a)[:, layers]
    return out


@dataclass
class MixGrid:
    """Cells (rows_total * (cols + 1), C, H, W) row-major in [-1, 1], and the ws of each
    mixed row (block, i) -> (cols, num_ws, w_dim), kept for checks."""

    images: torch.Tensor
    cols: int
    ws: dict[tuple[str, int], torch.Tensor]


@torch.no_grad()
def mixing_grid(
    game, G: nn.Module, rows: int = 4, cols: int = 4, seed: int = 0, device: str = "cpu"
) -> MixGrid:
    """The figure's cells for ``rows`` sources B and ``cols`` sources A drawn with ``seed``."""
    layers = game.style_layers()  # refused (one line) by games without styles
    if rows < 1 or cols < 1:
        raise GanforgeError(f"bad --rows {rows} / --cols {cols}: both must be at least 1")
    gen = torch.Generator().manual_seed(seed)
    a = {k: v.to(device) for k, v in game.draw_inputs(cols, "cpu", gen).items()}
    b = {k: v.to(device) for k, v in game.draw_inputs(rows, "cpu", gen).items()}
    ws_a, ws_b = game.to_w(G, a), game.to_w(G, b)

    def render(ws: torch.Tensor) -> torch.Tensor:
        out = with_fixed_noise(torch.device(device), lambda: game.render_w(G, ws), seed)
        return out.float().clamp(-1, 1).cpu()

    img_a, img_b = render(ws_a), render(ws_b)
    if img_a.dim() != 4:
        raise GanforgeError(f"mix draws images; this generator makes {tuple(img_a.shape[1:])}")
    cells = [torch.zeros_like(img_a[:1]), img_a]
    kept: dict[tuple[str, int], torch.Tensor] = {}
    for block in BLOCKS:
        for i in range(rows):
            ws = mix_ws(ws_a, ws_b[i : i + 1], layers[block])
            kept[(block, i)] = ws.cpu()
            cells += [img_b[i : i + 1], render(ws)]
    return MixGrid(torch.cat(cells), cols, kept)


def write_mix(grid: MixGrid, out: Path) -> Path:
    """The grid as a PNG (nearest-upscaled so that a cell is at least 48 px)."""
    from ganforge.views.grids import make_grid, write_grid

    scale = max(1, math.ceil(48 / grid.images.shape[-2]))
    return write_grid(make_grid(grid.images, nrow=grid.cols + 1), out, scale)
