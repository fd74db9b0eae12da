"""Commands of the latent tools: ``mix`` (the style-mixing grid) and ``project`` (inversion),
plus the pieces other commands borrow: ``sample --latent`` and the PPL flags of ``eval``.
Each parses its arguments and calls ``ganforge.api_latent``."""

from __future__ import annotations

import json

from ganforge.cli_args import parse_classes
from ganforge.errors import GanforgeError

MIX_LAYOUT = (
    "Layout: row 0 holds an empty cell then COLS sources A; then three blocks of ROWS rows, "
    "coarse, middle and fine in that order. Row i of a block starts with source B_i (the "
    "same B's in every block) followed by A_1..A_COLS with that block's styles (the ws "
    "entries of the run's style_layers) taken from B_i (Karras et al. 2019, fig. 3)."
)


def _add_mix(sub) -> None:
    p = sub.add_parser(
        "mix",
        help="style-mixing grid of a style-based run (coarse/middle/fine styles of B onto A)",
        description="Write the StyleGAN paper's style-mixing figure. " + MIX_LAYOUT,
    )
    p.add_argument("run")
    p.add_argument("--rows", type=int, default=4, help="sources B, one per row of a block")
    p.add_argument("--cols", type=int, default=4, help="sources A, one per column")
    p.add_argument("--out", help="PNG path (default RUN/mix.png)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_cmd_mix)


def _cmd_mix(args) -> int:
    from ganforge import api_latent

    path = api_latent.mix(args.run, args.rows, args.cols, args.out, args.seed, args.device)
    print(f"wrote {path}")
    return 0


def _add_project(sub) -> None:
    p = sub.add_parser(
        "project",
        help="find the latent whose image matches IMAGE (inversion); writes it and the image",
        description="Project IMAGE (a PNG of the run's size; grayscale for one-channel runs, "
        "RGB for three) into the run's latent space with the StyleGAN2 projector: w for "
        "style-based runs (one w on every layer, or --per-layer), z for other latent runs. "
        "Writes OUT/projection.png (target | projection), OUT/latent.pt (for `ganforge sample "
        "--latent` and `ganforge interpolate --from/--to`) and OUT/result.json.",
    )
    p.add_argument("run")
    p.add_argument("image")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps (default 1000)")
    p.add_argument("--out", help="folder (default RUN/project-IMAGE, or the next free name)")
    p.add_argument("--space", choices=["w", "z"], help="default: w if the run has it, else z")
    p.add_argument("--per-layer", action="store_true", help="one w per layer (W+), w space")
    p.add_argument("--class", dest="classes", help="the class to project with (conditional z)")
    p.add_argument(
        "--distance",
        help="perceptual distance: a shipped extractor (default: the run's dataset's), "
        "PATH.safetensors, lpips:VGG16.pth,LIN.pth, torchscript:PATH or pixel",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="replace an earlier projection in --out")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_cmd_project)


def _cmd_project(args) -> int:
    from ganforge import api_latent

    facts = api_latent.project(
        args.run,
        args.image,
        args.steps,
        args.out,
        space=args.space,
        per_layer=args.per_layer,
        classes=parse_classes(args.classes),
        distance=args.distance,
        seed=args.seed,
        force=args.force,
        device=args.device,
    )
    if args.json:
        print(json.dumps(facts))
        return 0
    print(f"projected into {facts['space']} ({facts['steps']} steps, {facts['distance']})")
    print(f"pixel mse {facts['pixel_mse']:.4g}")
    print(f"wrote {facts['projection']}")
    print(f"wrote {facts['latent']}")
    return 0


def sample_latent(args) -> int:
    """``ganforge sample RUN --latent FILE``: the images of a latent file."""
    from ganforge import api_latent

    if args.classes or args.code or args.raw or args.n != 64 or args.seed:
        raise GanforgeError("--latent renders the file's latents: drop --n/--seed/--class/--code")
    out, n = api_latent.sample_latent(args.run, args.latent, args.out, args.device)
    print(f"wrote {n} samples to {out}")
    return 0


def add_ppl_flags(p) -> None:
    """The PPL options of ``ganforge eval``."""
    p.add_argument("--ppl-space", choices=["w", "z"], help="default: w if the run has it, else z")
    p.add_argument("--ppl-sampling", choices=["full", "end"], help="full paths (default) or ends")
    p.add_argument(
        "--ppl-samples", type=int, help="pairs (default 100000 on CUDA as the paper, 5000 on CPU)"
    )
    p.add_argument(
        "--ppl-distance",
        help="a shipped extractor (default: the run's dataset's), PATH.safetensors, "
        "lpips:VGG16.pth,LIN.pth, torchscript:PATH or pixel",
    )


def ppl_options(args) -> dict | None:
    """The PPL flags given, as the ``ppl`` options of ``api.evaluate_with_info``."""
    keys = ("space", "sampling", "samples", "distance")
    return {k: getattr(args, f"ppl_{k}") for k in keys}


COMMANDS = [_add_mix, _add_project]
