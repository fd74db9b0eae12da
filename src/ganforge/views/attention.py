"""Where self-attention looks: for a few query pixels of one sample, the attention weights
over the keys, overlaid on the image (Zhang et al. 2019, SAGAN, arXiv:1805.08318, figure 1).

For a block of :class:`~ganforge.models.attention.SelfAttention2d` on an (h, w) map, query
position i gets weights beta_i over the (h', w') max-pooled key positions (summing to 1).
A query pixel (u, v) of the S x S image maps to position (u h / S, v w / S); its weights,
upsampled to S x S (nearest), are drawn as a heat map over the image. One row per block of G
(on G's sample) and of D (on the same sample, D as it judges it); one column per query.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import nn

from ganforge.models.attention import attention_blocks

ATTENTION_PNG = "attention.png"  # in the run folder; shown by the report page
# query pixels as fractions of the image side (row, column): the four quadrants' centres
QUERIES = ((0.25, 0.25), (0.25, 0.75), (0.75, 0.25), (0.75, 0.75))


def has_attention(*modules: nn.Module) -> bool:
    """Whether any of ``modules`` holds a SAGAN attention block (found by type)."""
    return any(attention_blocks(m) for m in modules)


@torch.no_grad()
def record(block_owner: nn.Module, run) -> list[tuple[torch.Tensor, tuple[int, int], tuple]]:
    """Call ``run()`` with the attention blocks of ``block_owner`` recording, in eval mode;
    returns, per block, (weights (N, M) of the first sample, key grid (h', w'), query grid)."""
    blocks = attention_blocks(block_owner)
    was = block_owner.training
    block_owner.eval()
    for b in blocks:
        b.record = True
    try:
        run()
    finally:
        block_owner.train(was)
        for b in blocks:
            b.record = False
    out = []
    for b in blocks:
        beta = b.last_weights[0].float().cpu()
        b.last_weights = None
        out.append((beta, b.last_size, b.last_grid))
    return out


def query_weights(
    beta: torch.Tensor, keys: tuple[int, int], grid: tuple[int, int], size: int, where: tuple
) -> tuple[torch.Tensor, tuple[int, int]]:
    """The (size, size) map of the weights of the query at image fraction ``where``, and the
    query's pixel (row, column)."""
    h, w = grid
    qi, qj = min(int(where[0] * h), h - 1), min(int(where[1] * w), w - 1)
    m = beta[qi * w + qj].reshape(1, 1, *keys)
    up = torch.nn.functional.interpolate(m, size=(size, size), mode="nearest")[0, 0]
    return up, (int((qi + 0.5) * size / h), int((qj + 0.5) * size / w))


def attention_png(image: torch.Tensor, rows: list[tuple[str, list]]) -> bytes:
    """PNG of ``image`` (C, S, S) in [-1, 1] with, per (label, recorded blocks) row and query,
    the query's attention heat map and a marker at the query pixel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    size = image.shape[-1]
    shown = ((image.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
    cmap = "gray" if shown.shape[-1] == 1 else None
    shown = shown[..., 0] if shown.shape[-1] == 1 else shown
    lines = [(f"{label} block {i}", rec) for label, recs in rows for i, rec in enumerate(recs)]
    fig = Figure(figsize=(2.0 * len(QUERIES), 2.1 * max(1, len(lines))), dpi=100)
    FigureCanvasAgg(fig)
    for r, (label, (beta, keys, grid)) in enumerate(lines):
        for c, where in enumerate(QUERIES):
            ax = fig.add_subplot(len(lines), len(QUERIES), r * len(QUERIES) + c + 1)
            heat, (py, px) = query_weights(beta, keys, grid, size, where)
            ax.imshow(shown, cmap=cmap, vmin=0, vmax=1)
            ax.imshow(heat.numpy(), cmap="magma", alpha=0.55)
            ax.plot([px], [py], marker="x", color="cyan", markersize=8, mew=2)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{label}, query {c + 1}", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_attention_maps(game, G: nn.Module, path: str | Path, seed: int = 0) -> Path | None:
    """RUN/attention.png: the attention maps of G (and of D) on one sample of ``G`` drawn by
    ``game`` from ``seed``; None when neither G nor D has attention blocks."""
    D = game.D
    if not has_attention(G, D):
        return None
    device = next(G.parameters()).device
    inputs = game.fixed_inputs(1, seed, device)
    holder: dict[str, torch.Tensor] = {}

    def draw() -> None:
        holder["x"] = game.render(G, inputs)

    g_rows = record(G, draw)  # draws the sample even when G has no attention
    x = holder["x"].clamp(-1, 1)
    d_rows = record(D, lambda: D(x.to(next(D.parameters()).dtype), inputs.get("y")))
    png = attention_png(x[0].float().cpu(), [("G", g_rows), ("D", d_rows)])
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(png)
    tmp.replace(path)
    return path
