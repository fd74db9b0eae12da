"""Commands beside training: toy (mode-collapse benchmark), lab (theory experiments),
features (extractors for own data) and translate (pix2pix/CycleGAN). Each parses its
arguments and calls ``ganforge.api_tools``."""

from __future__ import annotations

import json
from pathlib import Path

from ganforge.errors import GanforgeError


def _add_toy(sub) -> None:
    from ganforge.api_tools import TOY_DATASETS

    p = sub.add_parser(
        "toy",
        help="mode-collapse benchmark on 2-D Gaussian mixtures",
        description="Train a recipe on ring8/grid25 and report modes, high-quality fraction "
        "and reverse KL (VEEGAN/PacGAN metrics on 2,500 samples).",
    )
    p.add_argument("recipe", nargs="?", default=None, help="recipe (default: the best on the toys)")
    p.add_argument("--dataset", required=True, choices=list(TOY_DATASETS))
    p.add_argument("--steps", type=int, help="generator steps per run")
    p.add_argument("--seeds", type=int, default=1, help="runs with seeds 0..K-1: mean and SE")
    p.add_argument(
        "--out",
        help="folder for samples.png, snapshots.png, result.json (default "
        "runs/toy-DATASET-RECIPE, or with -2, -3, ... when that is taken)",
    )
    p.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    p.set_defaults(func=_cmd_toy)


def _fmt(v, pct: bool = False) -> str:
    k = 100 if pct else 1
    if isinstance(v, dict):
        return f"{k * v['mean']:.3f} ± {k * v['se']:.3f}"
    return f"{k * v:.3f}"


def _cmd_toy(args) -> int:
    from ganforge import api_tools

    result, recipe, out = api_tools.toy(
        args.dataset,
        args.recipe,
        steps=args.steps,
        seeds=args.seeds,
        out=args.out,
        force=args.force,
        sets=args.sets,
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{recipe} on {args.dataset} ({result['seeds']} seed(s), {result['steps']} steps): "
        f"modes {_fmt(result['modes'])}, high quality {_fmt(result['high_quality'], True)} %, "
        f"reverse KL {_fmt(result['reverse_kl'])}, {result['seconds_per_run']:.1f} s/run"
    )
    print(f"pictures: {out}")
    return 0


def _add_lab(sub) -> None:
    from ganforge.api_tools import lab_experiments

    experiments = lab_experiments()
    p = sub.add_parser(
        "lab",
        help="theory experiments of the notes",
        description="; ".join(f"{k}: {v[1]}" for k, v in experiments.items()),
    )
    p.add_argument("experiment", choices=list(experiments))
    p.add_argument(
        "--out",
        help="folder for the PNGs and result.json (default runs/lab-NAME, or with -2, -3, ... "
        "when that is taken)",
    )
    p.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    p.add_argument("--steps", type=int, help="training steps (each experiment has a default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the numbers as a JSON last line")
    p.set_defaults(func=_cmd_lab)


def _cmd_lab(args) -> int:
    from ganforge import api_tools

    result, out = api_tools.lab(
        args.experiment, args.out, force=args.force, steps=args.steps, seed=args.seed
    )
    if args.json:
        print(json.dumps(result))
        return 0
    for key, value in result.items():
        if isinstance(value, int | float | str):
            print(f"{key}: {value}")
    print(f"wrote {out}/result.json and {', '.join(Path(f).name for f in result['files'])}")
    return 0


def _add_features(sub) -> None:
    p = sub.add_parser(
        "features",
        help="train a feature extractor on your own images (for eval --features)",
        description="Train a small CNN on DATASET's images as the feature space of `eval` for "
        "data the shipped extractors do not cover (own image folders). Labels come from class "
        "sub-folders (root/<class>/*.png, two or more); without them the net learns to tell "
        "how each image was rotated (self-supervised). Writes PATH.safetensors and PATH.json.",
    )
    p.add_argument("action", choices=["train"])
    p.add_argument("dataset", help="folder:PATH (or a folder), or a dataset name")
    p.add_argument("--out", help="weights file, *.safetensors (default DATASET-features....)")
    p.add_argument("--steps", type=int, default=500, help="training steps (default 500)")
    p.add_argument("--image-size", type=int, default=0, help="as the run's (folders: 64)")
    p.add_argument("--channels", type=int, default=0, help="as the run's (folders: 3)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_cmd_features)


def _cmd_features(args) -> int:
    from ganforge import api_tools

    path, card = api_tools.train_features(
        args.dataset,
        args.out,
        steps=args.steps,
        image_size=args.image_size,
        channels=args.channels,
        batch_size=args.batch_size,
        seed=args.seed,
        force=args.force,
    )
    c, size, _ = card["input_shape"]
    print(
        f"wrote {path} and {path.with_suffix('.json').name}: {card['objective']} objective, "
        f"{card['images']} images {c}x{size}x{size}, train accuracy {card['train_accuracy']:.3f}"
    )
    print(f"use it with: ganforge eval RUN --features {path}")
    return 0


def _add_translate(sub) -> None:
    p = sub.add_parser(
        "translate",
        help="translate images with a pix2pix/CycleGAN/StarGAN run",
        description="Translate images with a trained pix2pix, CycleGAN or StarGAN run, and/or "
        "score it.",
    )
    p.add_argument("run")
    p.add_argument("--input", help="an image file or a folder of images")
    p.add_argument("--out", help="folder for the translated PNGs (same names)")
    p.add_argument("--direction", choices=["AtoB", "BtoA"], help="pix2pix/CycleGAN (AtoB)")
    p.add_argument("--to", help="StarGAN: target domain (name or index), or all for a grid")
    p.add_argument(
        "--eval",
        action="store_true",
        help="score on the dataset's test split (pix2pix: L1/PSNR/SSIM; CycleGAN: class, cycle; "
        "StarGAN: target-domain accuracy per pair, reconstruction; srresnet/srgan: PSNR/SSIM/FD "
        "beside bicubic)",
    )
    p.add_argument("--n", type=int, default=0, help="--eval: limit the test images (0 = all)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_cmd_translate)


def _cmd_translate(args) -> int:
    from ganforge import api, api_tools

    if not args.eval and not (args.input and args.out):
        raise GanforgeError("translate needs --input FILE|DIR and --out DIR (or --eval)")
    if bool(args.input) != bool(args.out):
        raise GanforgeError("--input and --out go together")
    if (args.to or args.direction) and not args.input:
        raise GanforgeError("--to and --direction go with --input and --out")
    if args.n < 0:
        raise GanforgeError(f"bad --n {args.n}: must be >= 0")
    run = api.load_run(args.run, device=args.device)
    if args.input:
        written = api_tools.translate(run, args.input, args.out, args.direction, to=args.to)
        print(f"wrote {len(written)} translated images to {args.out}")
    if args.eval:
        scores = api_tools.translation_scores(run, args.n)
        if table := api_tools.translation_table(scores):
            print(table)
        print(json.dumps(scores))
    return 0


COMMANDS = [_add_features, _add_toy, _add_lab, _add_translate]
