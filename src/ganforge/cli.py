"""Command line: parses arguments and calls the Python API (``ganforge.api`` and its peers
``api_views``, ``api_tools``). Errors are one line, exit 2. This module holds train, sample,
recipes, data and eval; ``cli_views`` and ``cli_tools`` hold the others."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from pathlib import Path

from ganforge import api, cli_latent, cli_restore, cli_study, cli_tools, cli_views
from ganforge.cli_args import Parser, parse_codes
from ganforge.config import Config, base_type
from ganforge.errors import GanforgeError

# ---------------------------------------------------------------------------------- train
BUDGET = ("steps", "epochs", "minutes")  # one of these, or none (one epoch)


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    """One ``--key-name`` flag per config field (the positional recipe aside), typed, with
    the field's help and choices; the budget flags exclude each other. Booleans get
    ``--key``/``--no-key``. A flag not given leaves the recipe's value."""
    budget = p.add_mutually_exclusive_group()
    for f in dataclasses.fields(Config):
        if f.name == "recipe":
            continue
        where = budget if f.name in BUDGET else p
        flag = "--" + f.name.replace("_", "-")
        tp, help_ = base_type(f.type)[0], f.metadata["help"]
        if tp is bool:
            where.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_)
        else:
            where.add_argument(flag, type=tp, choices=f.metadata.get("choices"), help=help_)


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        usage="%(prog)s [RECIPE] [--KEY-NAME VALUE ...] [--set KEY=VALUE ...] [--out RUN] "
        "[--force] [--resume RUN] [--json] [--help-keys]",
        help="train a recipe",
        description="Train a GAN recipe. Every config key is a flag (--key-name VALUE) and may "
        "also be given as --set key=value.",
    )
    p.add_argument(
        "recipe", nargs="?", default=None, help=f"recipe name (default {api.DEFAULT_RECIPE})"
    )
    p.add_argument("--out", help="run directory (default runs/RECIPE-DATASET-TIME)")
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
    _add_config_flags(p)
    p.set_defaults(func=_cmd_train)


def _train_overrides(args) -> dict:
    """``--set`` pairs, then the config flags given (a flag wins over ``--set``)."""
    from ganforge.config import parse_set_args

    overrides = parse_set_args(args.sets)
    for f in dataclasses.fields(Config):
        value = getattr(args, f.name, None) if f.name != "recipe" else None
        if value is not None:
            overrides[f.name] = value
    return overrides


def _check_budget(args) -> None:
    """A budget given explicitly must be > 0 (0 used to fall back to one epoch silently)."""
    for flag in BUDGET:
        value = getattr(args, flag)
        if value is not None and not value > 0:
            raise GanforgeError(
                f"bad --{flag} {value:g}: a budget must be > 0 (omit it to train one epoch)"
            )


def _cmd_train(args) -> int:
    from ganforge.config import describe_keys

    if args.help_keys:
        print(describe_keys())
        return 0
    _check_budget(args)
    progress = None if not args.json else False
    if args.resume:
        others = [k for k in _train_overrides(args) if k not in BUDGET]
        if args.recipe or others or args.out or args.force:
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
            args.recipe or api.DEFAULT_RECIPE,
            args.out,
            force=args.force,
            progress=progress,
            **_train_overrides(args),
        )
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun only rank 0 reports
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(
            f"trained {summary.steps} steps in {summary.wall_seconds:.1f} s "
            f"({summary.images_per_sec:.0f} images/s)"
        )
        print(f"samples: {Path(summary.run) / 'samples.png'}")
        for label, name in (("report", "report.html"), ("timelapse", "timelapse.gif")):
            if (Path(summary.run) / name).is_file():
                print(f"{label}: {Path(summary.run) / name}")
        print(f"run: {summary.run}")
    return 0


# --------------------------------------------------------------------------------- sample
def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help=".png (grid) or .npy (float32 N,C,H,W in [-1,1])")
    p.add_argument(
        "--class", dest="classes", help="class NAME or index K, or a list 1,3,7 (conditional runs)"
    )
    p.add_argument("--truncation", type=float, help="truncation trick at T (biggan, stylegan)")
    p.add_argument("--code", action="append", help="InfoGAN code i=value (0 = categorical)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--raw",
        action="store_true",
        help="G's own samples, without the run's rejection sampling (runs with rejection=drs)",
    )
    p.add_argument("--latent", help="render a latent file (.pt) written by `ganforge project`")
    p.set_defaults(func=_cmd_sample)


def _cmd_sample(args) -> int:
    if args.latent:
        return cli_latent.sample_latent(args)

    out = api.sample_to_file(  # a .npy is streamed batch by batch, after checking the room
        args.run,
        args.out or Path(args.run) / "sample.png",
        args.n,
        args.seed,
        classes=args.classes,  # names or indices, resolved against the run's class names
        codes=parse_codes(args.code),
        rejection=False if args.raw else None,
        device=args.device,
        truncation=args.truncation,
    )
    print(f"wrote {args.n} samples to {out}")
    return 0


# -------------------------------------------------------------------------------- recipes
def _add_recipes(sub) -> None:
    p = sub.add_parser("recipes", help="list the named recipes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_recipes)


def _cmd_recipes(args) -> int:
    from ganforge import api_tools

    recipes = api_tools.recipes()
    if args.json:
        print(
            json.dumps(
                {
                    n: {"summary": r.summary, "source": r.source, "overrides": r.overrides}
                    for n, r in recipes.items()
                }
            )
        )
        return 0
    width = max(len(n) for n in recipes)
    for name, r in recipes.items():
        print(f"{name:{width}s}  {r.summary}  [{r.source}]")
    return 0


# ----------------------------------------------------------------------------------- data
def _add_data(sub) -> None:
    from ganforge.api_tools import IDX_NAMES

    p = sub.add_parser("data", help="find or download datasets")
    p.add_argument("action", choices=["fetch", "where"])
    p.add_argument("name", choices=list(IDX_NAMES))
    p.add_argument("--data-dir")
    p.set_defaults(func=_cmd_data)


def _cmd_data(args) -> int:
    from ganforge import api_tools

    folder = api_tools.locate_data(args.name, args.data_dir, download=args.action == "fetch")
    print(f"{args.name}: {folder}")
    return 0


# ----------------------------------------------------------------------------------- eval
def _add_eval(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="score a run or a .npy of images (FD, KID, precision/recall, ...)",
        description="Score a run directory (samples from its generator, EMA if present) or a "
        ".npy of images (float in [-1, 1] or uint8) against a dataset's real images. Features "
        "come from ganforge's shipped classifiers (fashion-mnist, mnist); Inception-v3 weights "
        "are NOT bundled: pass --features inception:PATH to use a local copy.",
    )
    p.add_argument("target", help="run directory or .npy file")
    p.add_argument("--dataset", help="reference dataset (default: the run's; .npy: fashion-mnist)")
    p.add_argument(
        "--metrics",
        help="comma list of fid,kid,is,pr,dc,cas,nn,ppl or all (default fid,kid,is,pr,dc)",
    )
    p.add_argument(
        "--truncation-sweep",
        metavar="T1,T2,...",
        help="score FD, IS, precision and recall at each truncation value; writes "
        "RUN/truncation.json and RUN/truncation.png (biggan, stylegan)",
    )
    p.add_argument("--n", type=int, default=10_000, help="samples drawn from a run (default 10000)")
    p.add_argument(
        "--features",
        help="fashion-mnist, mnist, inception:PATH (not bundled) or a PATH.safetensors made by "
        "`ganforge features train`",
    )
    p.add_argument("--labels", help=".npy of requested classes for cas with a .npy TARGET")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--best", action="store_true", help="use the run's best checkpoint")
    p.add_argument("--allow-small", action="store_true", help="allow FD on < 2048 samples (warns)")
    p.add_argument(
        "--raw",
        action="store_true",
        help="score G's own samples, without the run's rejection sampling (rejection=drs)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    cli_latent.add_ppl_flags(p)
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args) -> int:
    if args.truncation_sweep is not None:
        return _cmd_sweep(args, api)
    result, info = api.evaluate_with_info(
        args.target,
        args.metrics,
        args.n,
        allow_small=args.allow_small,
        dataset=args.dataset,
        features=args.features,
        seed=args.seed,
        labels=args.labels,
        which="best" if args.best else "latest",
        raw=args.raw,
        ppl=cli_latent.ppl_options(args),
    )
    if info.get("fid_warning"):
        print(f"WARNING: {info['fid_warning']}", file=sys.stderr)
    print(f"target: {info['target']}  ({info['n']} samples)")
    if "extractor" in info:  # absent when only ppl was asked for
        print(f"features: {info['extractor']} (sha256 {str(info['extractor_sha256'])[:12]})")
        print(f"real reference: {info['reference']}")
    if "nn_reference" in info:
        print(f"memorisation reference: {info['nn_reference']}; {info['memorisation']}")
    if "ppl_distance" in info:
        print("ppl: " + ", ".join(f"{k[4:]} {info[k]}" for k in info if k.startswith("ppl_")))
    if "is_note" in info:
        print(f"note: {info['is_note']}", file=sys.stderr)
    for key, value in result.items():
        extra = ""
        if key == "kid":
            extra = f"  (std over subsets {info['kid_std']:.2g})"
        elif key == "is":
            extra = f"  (std over splits {info['is_std']:.2g})"
        elif key == "cas":
            extra = f"  (classifier test accuracy {info.get('classifier_test_accuracy')})"
        print(f"{key:10s} {value:.6g}{extra}")
    if args.json:
        print(json.dumps(result))
    return 0


def _cmd_sweep(args, api) -> int:
    if args.metrics is not None or args.labels is not None:
        flag = "--metrics" if args.metrics is not None else "--labels"
        raise GanforgeError(f"--truncation-sweep scores fid, is, precision, recall: drop {flag}")
    result = api.truncation_sweep(
        args.target, args.truncation_sweep, args.n, dataset=args.dataset,
        features=args.features, seed=args.seed, which="best" if args.best else "latest",
        raw=args.raw, allow_small=args.allow_small,
    )  # fmt: skip
    print(f"target: {result['target']}  ({result['n']} samples per value)")
    print(f"features: {result['extractor']}; real reference: {result['reference']}")
    print(api.truncation_table(result["rows"]))
    print(f"wrote {result['json']} and {result['png']}")
    if args.json:
        print(json.dumps(result["rows"]))
    return 0


COMMANDS = [_add_train, _add_sample, _add_recipes, _add_data, _add_eval]
COMMANDS += cli_tools.COMMANDS + cli_views.COMMANDS + cli_latent.COMMANDS + cli_restore.COMMANDS
COMMANDS += [cli_study.add_parser]


def build_parser() -> argparse.ArgumentParser:
    """The ``ganforge`` parser with every command of :data:`COMMANDS`."""
    from ganforge.version import __version__

    parser = Parser(prog="ganforge", description="Train, evaluate and understand GANs.")
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``ganforge ARGV``; returns the exit code (0, 2 for a user error, 1 internal)."""
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
    except OSError as exc:  # the machine's problem (permissions, a full or read-only disk)
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"ganforge: error: {where}{exc.strerror or exc} (check the path, its permissions "
            "and the free space)",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:  # an internal bug: still one line, with a way to see more
        if os.environ.get("GANFORGE_DEBUG"):
            raise
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # no terminal colour codes
        print(
            f"ganforge: internal error: {type(exc).__name__}: {text.splitlines()[0] if text else ''}"
            " (set GANFORGE_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
