"""Perceptual Path Length (Karras et al. 2019, "A Style-Based Generator Architecture for
Generative Adversarial Networks", arXiv:1812.04948, sec. 4.2).

For latents z0, z1 from the prior and t ~ U[0, 1] (``full`` paths) or t in {0, 1}
(``end``points, drawn with equal probability), the path length of one pair is

    l = d(G(p(t)), G(p(t + eps))) / eps^2,      eps = 1e-4,

with p the spherical interpolation in Z, p(t) = slerp(z0, z1, t) (as ``ganforge
interpolate``: :func:`ganforge.views.interpolate.slerp`), or the linear one in W,
p(t) = lerp(w0, w1, t) with w = mapping(z) per layer, and d a perceptual distance
(:mod:`ganforge.metrics.perceptual`). PPL is the mean of l over the pairs whose l lies between
the 1st and the 99th percentile (the reference's outlier filter). Labels and InfoGAN codes are
drawn once per pair and shared by both ends. Both images of a pair are rendered with the same
random state, so a generator's per-layer noise is the same at both ends (the reference holds
the noise constant). The reference's face crop and 256 px downsampling are not applied.

For a linear generator G(z) = A z and d = |.|^2 the lerp path length is |A (z1 - z0)|^2 at
every t, and the slerp one |A dp/dt|^2 (up to O(eps)), the closed forms the tests check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.latent_file import with_fixed_noise
from ganforge.views.interpolate import lerp, slerp

SPACES = ("z", "w")
SAMPLINGS = ("full", "end")
EPSILON = 1e-4
REFERENCE_SAMPLES = 100_000  # the paper's
CPU_SAMPLES = 5_000  # our default on a CPU
PERCENTILES = (1.0, 99.0)


def draw_t(n: int, sampling: str, generator: torch.Generator) -> torch.Tensor:
    """The path positions of ``n`` pairs: U[0, 1] for ``full``, {0, 1} for ``end``."""
    if sampling == "full":
        return torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.randint(0, 2, (n,), generator=generator).double()


@torch.no_grad()
def pair_images(
    game,
    G: nn.Module,
    inputs0: dict[str, torch.Tensor],
    inputs1: dict[str, torch.Tensor],
    t: torch.Tensor,
    space: str,
    epsilon: float = EPSILON,
    noise_seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images at p(t) and p(t + eps) of the paths from ``inputs0`` to ``inputs1`` (their
    z; labels and codes of ``inputs0`` at both ends)."""
    z0, z1 = inputs0["z"], {**inputs0, "z": inputs1["z"]}
    device = z0.device
    # positions in float64, so t + eps is exact to ~1e-16 whatever G's precision
    if space == "z":
        tt = t.to(device).view(-1, 1)

        def at(s: torch.Tensor) -> Callable[[], torch.Tensor]:
            z = slerp(z0.double(), z1["z"].double(), s).to(z0.dtype)
            return lambda: game.render(G, {**inputs0, "z": z})
    else:
        w0, w1 = game.to_w(G, inputs0), game.to_w(G, z1)
        tt = t.to(device).view(-1, 1, 1)

        def at(s: torch.Tensor) -> Callable[[], torch.Tensor]:
            w = lerp(w0.double(), w1.double(), s).to(w0.dtype)
            return lambda: game.render_w(G, w)

    a = with_fixed_noise(device, at(tt), noise_seed)
    b = with_fixed_noise(device, at(tt + epsilon), noise_seed)
    return a, b


@torch.no_grad()
def path_lengths(
    game,
    G: nn.Module,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    n: int,
    space: str = "w",
    sampling: str = "full",
    epsilon: float = EPSILON,
    seed: int = 0,
    batch_size: int = 100,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """The ``n`` path lengths d / eps^2 (float64, CPU) before filtering."""
    check_options(game, space, sampling, n)
    device = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        inputs0 = game.draw_inputs(m, "cpu", gen)
        inputs1 = game.draw_inputs(m, "cpu", gen)
        t = draw_t(m, sampling, gen)
        move = lambda d: {k: v.to(device) for k, v in d.items()}  # noqa: E731
        a, b = pair_images(game, G, move(inputs0), move(inputs1), t, space, epsilon, seed + start)
        out.append(distance(a, b).double().cpu() / epsilon**2)
    return torch.cat(out)


def filtered_mean(values: torch.Tensor, percentiles: tuple[float, float] = PERCENTILES) -> float:
    """Mean of the values between the ``percentiles`` (the lower one taken at or below, the
    upper at or above a sample, as the reference's numpy 'lower'/'higher' interpolation)."""
    v = values.double().numpy()
    lo = np.percentile(v, percentiles[0], method="lower")
    hi = np.percentile(v, percentiles[1], method="higher")
    return float(v[(v >= lo) & (v <= hi)].mean())


def check_options(game, space: str, sampling: str, n: int) -> None:
    if space not in SPACES:
        raise GanforgeError(f"bad PPL space {space!r}: choose z or w")
    if sampling not in SAMPLINGS:
        raise GanforgeError(f"bad PPL sampling {sampling!r}: choose full or end")
    if n < 2:
        raise GanforgeError(f"bad PPL sample count {n}: need at least 2 pairs")
    spaces = game.latent_spaces()
    if space not in spaces:
        have = f"it has {', '.join(spaces)}" if spaces else "its generator takes images"
        raise GanforgeError(
            f"PPL in {space.upper()} is not possible for this run ({have}): "
            f"{'use --ppl-space z' if 'z' in spaces else 'drop ppl'}"
        )


def perceptual_path_length(
    game,
    G: nn.Module,
    distance: nn.Module,
    n: int = CPU_SAMPLES,
    space: str = "w",
    sampling: str = "full",
    epsilon: float = EPSILON,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[float, dict[str, Any]]:
    """PPL of ``G`` and the facts to record with it (space, sampling, pairs, distance)."""
    d = path_lengths(game, G, distance, n, space, sampling, epsilon, seed, device=device)
    value = filtered_mean(d)
    info = {
        "ppl_space": space,
        "ppl_sampling": sampling,
        "ppl_samples": n,
        "ppl_epsilon": epsilon,
        "ppl_distance": str(distance.name),
        "ppl_kept": f"pairs between the {PERCENTILES[0]:g}st and {PERCENTILES[1]:g}th percentile",
    }
    return value, info


def run_ppl(run, options: dict[str, Any], seed: int = 0) -> tuple[float, dict[str, Any]]:
    """PPL of a loaded run's generator (EMA if present) with ``options`` (space: w if the run
    has it, else z; sampling: full; samples: 100,000 on CUDA as the paper, 5,000 on a CPU;
    distance: the trunk of the run's dataset's shipped extractor, else fashion-mnist's)."""
    from ganforge.metrics.features import extractor_for_dataset
    from ganforge.metrics.perceptual import load_distance

    spaces = run.game.latent_spaces()
    space = options.get("space") or ("w" if "w" in spaces else "z")
    sampling = options.get("sampling") or "full"
    n = options.get("samples")
    if n is None:
        n = REFERENCE_SAMPLES if run.device.type == "cuda" else CPU_SAMPLES
    check_options(run.game, space, sampling, n)
    spec = options.get("distance") or extractor_for_dataset(run.cfg.dataset)
    distance = load_distance(spec, run.device)
    return perceptual_path_length(run.game, run.G, distance, n, space, sampling, EPSILON, seed,
                                  run.device)  # fmt: skip


def with_ppl(
    run, wanted: list[str], options: dict[str, Any], seed: int, score: Callable
) -> dict[str, Any]:
    """``score(rest)`` of the other metrics ``wanted`` (none: only the target is recorded)
    plus ``ppl`` of :func:`run_ppl`, its facts added to the result's info."""
    if "ppl" not in wanted:
        raise GanforgeError("the --ppl-* options act only with --metrics ppl: add it")
    value, facts = run_ppl(run, options, seed)
    rest = [m for m in wanted if m != "ppl"]
    info = {"n": facts["ppl_samples"], "target": f"{run.path} (step {run.step})"}
    result = score(rest) if rest else {"info": info}
    result["ppl"] = value
    result["info"].update(facts)
    return result
