"""Latent files: the latents ``ganforge project`` finds, fed back to ``sample`` and
``interpolate``.

A latent file is a ``torch.save``'d dict of plain tensors and strings (read back with
``weights_only=True``, so it can never run code):

- ``format``: ``"ganforge-latent"``, ``version``: 1;
- ``space``: ``"w"`` (per-layer styles ``latent`` of shape (B, num_ws, w_dim)) or ``"z"``
  (``latent`` is z, (B, z_dim), and ``inputs`` holds the game's other inputs: labels ``y``,
  InfoGAN codes ``cat``/``cont``);
- ``noise``: the generator's noise maps the projection optimised (a list, empty when the
  game exposes none: :meth:`ganforge.games.base.Game.noise_buffers`), used while rendering it;
- ``run``: the run it was made for (informative only).

Every render of a latent runs under a fixed random state (:func:`with_fixed_noise`), so a
generator that draws per-layer noise at each call draws the same noise every time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.run_dir import write_atomic

FORMAT = "ganforge-latent"
NOISE_SEED = 0


def with_fixed_noise(device: torch.device, fn: Callable[[], torch.Tensor], seed: int = NOISE_SEED):
    """``fn()`` under the global random state ``seed``; the caller's state is restored."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return fn()


def save_latent(
    path: Path,
    space: str,
    latent: torch.Tensor,
    inputs: dict[str, torch.Tensor],
    run: str,
    noise: list[torch.Tensor] | None = None,
) -> Path:
    """Write a latent file (atomically)."""
    import io

    buf = io.BytesIO()
    rest = {k: v.detach().cpu() for k, v in inputs.items() if k != "z"}
    data = {"format": FORMAT, "version": 1, "space": space, "run": run,
            "latent": latent.detach().cpu(), "inputs": rest,
            "noise": [n.detach().cpu() for n in noise or []]}  # fmt: skip
    torch.save(data, buf)
    write_atomic(Path(path), buf.getvalue(), "", what="latent file ")
    return Path(path)


def load_latent(path: str | Path, game, G: nn.Module) -> tuple[str, dict[str, torch.Tensor]]:
    """(space, value) of a latent file checked against ``game``: for ``w`` the value is
    {"ws": (B, num_ws, w_dim)}, for ``z`` the game's inputs dict."""
    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"latent file {path} not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, or one holding code: refused in one line
        raise GanforgeError(f"{path} is not a latent file ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GanforgeError(f"{path} is not a latent file written by `ganforge project`")
    space, latent = data.get("space"), data.get("latent")
    if space not in game.latent_spaces() or not isinstance(latent, torch.Tensor):
        raise GanforgeError(
            f"{path} holds a {space} latent; this run takes {', '.join(game.latent_spaces())}"
        )
    probe = game.fixed_inputs(1, 0)
    if space == "w":
        want = tuple(game.to_w(G, {k: v.to(_device(G)) for k, v in probe.items()}).shape[1:])
        value = {"ws": latent.float()}
    else:
        inputs = {k: v for k, v in data.get("inputs", {}).items() if isinstance(v, torch.Tensor)}
        want = tuple(probe["z"].shape[1:])
        value = {**inputs, "z": latent.float()}
        if sorted(value) != sorted(probe) or any(
            value[k].shape[1:] != probe[k].shape[1:] or value[k].shape[0] != latent.shape[0]
            for k in probe
        ):
            raise GanforgeError(f"{path} does not fit this run's inputs ({', '.join(probe)})")
    if latent.dim() != len(want) + 1 or tuple(latent.shape[1:]) != want or latent.shape[0] < 1:
        raise GanforgeError(
            f"{path} holds a {space} latent of shape {tuple(latent.shape)}; this run takes "
            f"(B, {', '.join(map(str, want))})"
        )
    noise = data.get("noise") or []
    bufs = game.noise_buffers(G)
    if noise and [tuple(n.shape) for n in noise] != [tuple(b.shape) for b in bufs]:
        raise GanforgeError(f"{path} holds noise maps that do not fit this run's generator")
    value.update({f"noise{i}": n for i, n in enumerate(noise)})
    return space, value


def _device(G: nn.Module) -> torch.device:
    return next(G.parameters()).device


@torch.no_grad()
def render_latent(game, G: nn.Module, space: str, value: dict[str, torch.Tensor]) -> torch.Tensor:
    """Images in [-1, 1] on the CPU of a latent read by :func:`load_latent` (with its noise
    maps in G's while it renders; G's own are put back)."""
    dev = _device(G)
    noise = [v for k, v in value.items() if k.startswith("noise")]
    bufs = game.noise_buffers(G) if noise else []
    saved = [b.clone() for b in bufs]
    try:
        for b, n in zip(bufs, noise, strict=True):
            b.copy_(n)
        if space == "w":
            out = with_fixed_noise(dev, lambda: game.render_w(G, value["ws"].to(dev)))
        else:
            inputs = {k: v.to(dev) for k, v in value.items() if not k.startswith("noise")}
            out = with_fixed_noise(dev, lambda: game.render(G, inputs))
    finally:
        for b, s in zip(bufs, saved, strict=True):
            b.copy_(s)
    return out.float().clamp(-1, 1).cpu()
