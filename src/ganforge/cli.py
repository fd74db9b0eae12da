"""Command line: parses arguments and calls the Python API. Errors are one line, exit 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ganforge.errors import GanforgeError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        raise GanforgeError(f"{message} (see `{self.prog} --help`)")


def _parse_classes(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip() != ""]
    except ValueError:
        raise GanforgeError(
            f"bad --class {text!r}: expected an integer or a list like 1,3,7"
        ) from None


def _parse_codes(items: list[str] | None) -> dict[int, float] | None:
    if not items:
        return None
    codes = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            codes[int(key)] = float(value)
        except ValueError:
            raise GanforgeError(
                f"bad --code {item!r}: expected i=value, e.g. --code 1=0.5"
            ) from None
        if not sep:
            raise GanforgeError(f"bad --code {item!r}: expected i=value, e.g. --code 1=0.5")
    return codes


# ---------------------------------------------------------------------------------- train
def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a recipe", description="Train a GAN recipe.")
    p.add_argument("recipe", nargs="?", default=None, help="recipe name (default dcgan)")
    p.add_argument("--dataset", help="fashion-mnist, mnist, mnist5k, digits, folder:PATH, ...")
    p.add_argument("--data-dir", help="folder with the dataset's files (searched first)")
    p.add_argument("--image-size", type=int, help="image side in pixels (folders: default 64)")
    p.add_argument("--channels", type=int, help="1 (grayscale) or 3 (RGB)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="generator steps")
    budget.add_argument("--epochs", type=float, help="passes over the data")
    budget.add_argument("--minutes", type=float, help="wall-clock minutes (may be fractional)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--out", help="run directory (default runs/RECIPE-DATASET-TIME)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--compile", action="store_true", help="torch.compile the models")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config key (see --help-keys); repeatable",
    )
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its latest checkpoint")
    p.add_argument("--force", action="store_true", help="replace an existing run in --out")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    p.add_argument("--help-keys", action="store_true", help="list every config key and exit")
    p.set_defaults(func=_cmd_train)


def _train_overrides(args) -> dict:
    from ganforge.config import parse_set_args

    overrides = parse_set_args(args.sets)
    for key in (
        "dataset",
        "data_dir",
        "image_size",
        "channels",
        "steps",
        "epochs",
        "minutes",
        "batch_size",
        "seed",
        "device",
        "precision",
    ):
        value = getattr(args, key)
        if value is not None:
            overrides[key] = value
    if args.compile:
        overrides["compile"] = True
    return overrides


def _cmd_train(args) -> int:
    from ganforge import api
    from ganforge.config import describe_keys

    if args.help_keys:
        print(describe_keys())
        return 0
    progress = None if not args.json else False
    if args.resume:
        if args.recipe or args.sets or args.dataset or args.out:
            raise GanforgeError(
                "--resume uses the run's own config: only --steps/--epochs/--minutes may be given"
            )
        summary = api.resume(
            args.resume,
            steps=args.steps or 0,
            epochs=args.epochs or 0,
            minutes=args.minutes or 0,
            progress=progress,
        )
    else:
        summary = api.train(
            args.recipe or "dcgan",
            args.out,
            force=args.force,
            progress=progress,
            **_train_overrides(args),
        )
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(
            f"trained {summary.steps} steps in {summary.wall_seconds:.1f} s "
            f"({summary.images_per_sec:.0f} images/s)"
        )
        print(f"samples: {Path(summary.run) / 'samples.png'}")
        print(f"run: {summary.run}")
    return 0


# --------------------------------------------------------------------------------- sample
def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help=".png (grid) or .npy (float32 N,C,H,W in [-1,1])")
    p.add_argument("--class", dest="classes", help="class K or a list 1,3,7 (conditional runs)")
    p.add_argument("--code", action="append", help="InfoGAN code i=value (0 = categorical)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_cmd_sample)


def _cmd_sample(args) -> int:
    import numpy as np

    from ganforge import api
    from ganforge.views.grids import save_grid

    if args.n < 1:
        raise GanforgeError(f"bad --n {args.n}: must be at least 1")
    out = Path(args.out or Path(args.run) / "sample.png")
    if out.suffix.lower() not in (".png", ".npy"):
        raise GanforgeError(f"bad --out {out}: use a .png or .npy file name")
    run = api.load_run(args.run, device=args.device)
    images = run.sample(
        args.n, args.seed, classes=_parse_classes(args.classes), codes=_parse_codes(args.code)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, images.numpy().astype(np.float32))
    else:
        save_grid(images, out)
    print(f"wrote {args.n} samples to {out}")
    return 0


# -------------------------------------------------------------------------------- recipes
def _add_recipes(sub) -> None:
    p = sub.add_parser("recipes", help="list the named recipes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_recipes)


def _cmd_recipes(args) -> int:
    from ganforge.recipes import RECIPES

    if args.json:
        print(
            json.dumps(
                {
                    n: {"summary": r.summary, "source": r.source, "overrides": r.overrides}
                    for n, r in RECIPES.items()
                }
            )
        )
        return 0
    width = max(len(n) for n in RECIPES)
    for name, r in RECIPES.items():
        print(f"{name:{width}s}  {r.summary}  [{r.source}]")
    return 0


# ----------------------------------------------------------------------------------- data
def _add_data(sub) -> None:
    p = sub.add_parser("data", help="find or download datasets")
    p.add_argument("action", choices=["fetch", "where"])
    p.add_argument("name", choices=["fashion-mnist", "mnist"])
    p.add_argument("--data-dir")
    p.set_defaults(func=_cmd_data)


def _cmd_data(args) -> int:
    from ganforge.data import sources

    spec = sources.IDX_DATASETS[args.name]
    files = sources.locate(spec, args.data_dir, download=args.action == "fetch")
    print(f"{args.name}: {Path(files['train-images']).parent}")
    return 0


# ------------------------------------------------------------------------------ translate
def _add_translate(sub) -> None:
    p = sub.add_parser(
        "translate",
        help="translate images with a pix2pix/CycleGAN run",
        description="Translate images with a trained pix2pix or CycleGAN run, and/or score it.",
    )
    p.add_argument("run")
    p.add_argument("--input", help="an image file or a folder of images")
    p.add_argument("--out", help="folder for the translated PNGs (same names)")
    p.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"])
    p.add_argument(
        "--eval",
        action="store_true",
        help="score on the dataset's test split (pix2pix: L1/PSNR/SSIM; CycleGAN: class, cycle)",
    )
    p.add_argument("--n", type=int, default=0, help="--eval: limit the test images (0 = all)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_cmd_translate)


def _cmd_translate(args) -> int:
    from ganforge import api
    from ganforge.translate import translate_files

    if not args.eval and not (args.input and args.out):
        raise GanforgeError("translate needs --input FILE|DIR and --out DIR (or --eval)")
    if bool(args.input) != bool(args.out):
        raise GanforgeError("--input and --out go together")
    if args.n < 0:
        raise GanforgeError(f"bad --n {args.n}: must be >= 0")
    run = api.load_run(args.run, device=args.device)
    if args.input:
        written = translate_files(run, args.input, args.out, args.direction)
        print(f"wrote {len(written)} translated images to {args.out}")
    if args.eval:
        from ganforge.metrics.translation import evaluate_run

        print(json.dumps(evaluate_run(run, args.n)))
    return 0


# ---------------------------------------------------------------------- more commands
# Each later command registers with an _add_* function listed in COMMANDS below.


COMMANDS = [_add_train, _add_sample, _add_recipes, _add_data, _add_translate]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganforge", description="Train, evaluate and understand GANs.")
    from ganforge import __version__

    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except GanforgeError as exc:
        print(f"ganforge: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print("ganforge: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # an internal bug: still one line, with a way to see more
        if os.environ.get("GANFORGE_DEBUG"):
            raise
        print(
            f"ganforge: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (set GANFORGE_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
