"""Command line: parses arguments and calls the Python API. Errors are one line, exit 2."""

from __future__ import annotations

import argparse
import json
import os
import re
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
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile G and D; kept only if training steps get faster (compile_trial)",
    )
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


def _check_budget(args) -> None:
    """A budget given explicitly must be > 0 (0 used to fall back to one epoch silently)."""
    for flag in ("steps", "epochs", "minutes"):
        value = getattr(args, flag)
        if value is not None and not value > 0:
            raise GanforgeError(
                f"bad --{flag} {value:g}: a budget must be > 0 (omit it to train one epoch)"
            )


def _cmd_train(args) -> int:
    from ganforge import api
    from ganforge.config import describe_keys

    if args.help_keys:
        print(describe_keys())
        return 0
    _check_budget(args)
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
    p.add_argument("--class", dest="classes", help="class K or a list 1,3,7 (conditional runs)")
    p.add_argument("--code", action="append", help="InfoGAN code i=value (0 = categorical)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--raw",
        action="store_true",
        help="G's own samples, without the run's rejection sampling (runs with rejection=drs)",
    )
    p.set_defaults(func=_cmd_sample)


def _cmd_sample(args) -> int:
    from ganforge import api
    from ganforge.views.sample_file import write_samples

    if args.n < 1:
        raise GanforgeError(f"bad --n {args.n}: must be at least 1")
    out = Path(args.out or Path(args.run) / "sample.png")
    if out.suffix.lower() not in (".png", ".npy"):
        raise GanforgeError(f"bad --out {out}: use a .png or .npy file name")
    run = api.load_run(args.run, device=args.device)
    write_samples(  # a .npy is streamed batch by batch, after checking the free space
        run,
        out,
        args.n,
        args.seed,
        classes=_parse_classes(args.classes),
        codes=_parse_codes(args.code),
        rejection=False if args.raw else None,
    )
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


# ---------------------------------------------------------------------------------- views
def _add_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write RUN/report.html (config, grids, curves, metrics, timings)",
        description="Write RUN/report.html, one self-contained page (and RUN/timelapse.gif).",
    )
    p.add_argument("run")
    p.add_argument("--out", help="where to write the page (default RUN/report.html)")
    p.add_argument(
        "--screenshot",
        metavar="PNG",
        help="also open the page in headless Chromium, check it and save a screenshot",
    )
    p.set_defaults(func=_cmd_report)


def _cmd_report(args) -> int:
    from ganforge.views.report import write_report

    path = write_report(args.run, args.out)
    print(f"wrote {path}")
    if args.screenshot:
        from ganforge.views.browser import check_page

        result = check_page(path, args.screenshot)
        print(
            f"chromium: {result.images_loaded}/{result.images} images loaded, "
            f"{len(result.external_requests)} external requests; screenshot {args.screenshot}"
        )
        if result.problems:
            raise GanforgeError("report check failed: " + "; ".join(result.problems))
    return 0


def _add_timelapse(sub) -> None:
    p = sub.add_parser("timelapse", help="write RUN/timelapse.gif of the grids over training")
    p.add_argument("run")
    p.add_argument("--out", help="GIF path (default RUN/timelapse.gif)")
    p.add_argument("--frame-ms", type=int, default=400, help="milliseconds per frame")
    p.set_defaults(func=_cmd_timelapse)


def _cmd_timelapse(args) -> int:
    from PIL import Image

    from ganforge.training.run_dir import check_run
    from ganforge.views.timelapse import write_timelapse

    path = write_timelapse(check_run(Path(args.run)), args.out, frame_ms=args.frame_ms)
    with Image.open(path) as im:
        frames = im.n_frames
    print(f"wrote {path} ({frames} frames)")
    return 0


def _add_interpolate(sub) -> None:
    p = sub.add_parser(
        "interpolate",
        help="latent walks (or class morphs) as a grid PNG and a GIF",
        description="Walk G's latent space; for conditional runs, --classes a,b morphs a -> b.",
    )
    p.add_argument("run")
    p.add_argument("--steps", type=int, default=10, help="images per walk (default 10)")
    p.add_argument("--mode", choices=["lerp", "slerp"], default="slerp")
    p.add_argument("--classes", help="morph between classes, e.g. 3,8 (conditional runs)")
    p.add_argument("--rows", type=int, default=8, help="walks, one per row (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="PNG path; the GIF is written beside it")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_cmd_interpolate)


def _cmd_interpolate(args) -> int:
    from ganforge.views.interpolate import interpolate

    classes = _parse_classes(args.classes)
    png, gif = interpolate(
        args.run,
        steps=args.steps,
        mode=args.mode,
        classes=classes,
        rows=args.rows,
        seed=args.seed,
        out=args.out,
        device=args.device,
    )
    print(f"wrote {png}")
    print(f"wrote {gif}")
    return 0


def _add_runs(sub) -> None:
    p = sub.add_parser("runs", help="table of the runs in a folder (default runs/)")
    p.add_argument("dir", nargs="?", default="runs")
    p.add_argument(
        "--sort",
        default="started",
        help="run, recipe, dataset, steps, wall, ips, fd, status, started (default), updated",
    )
    p.add_argument("--json", action="store_true", help="a JSON list instead of the table")
    p.set_defaults(func=_cmd_runs)


def _cmd_runs(args) -> int:
    from ganforge.views.runs import format_table, list_runs

    rows = list_runs(args.dir, args.sort)
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export the generator as TorchScript or ONNX (checked against PyTorch)",
    )
    p.add_argument("run")
    p.add_argument("--format", required=True, choices=["torchscript", "onnx"])
    p.add_argument("--out", required=True, help="file to write (.pt / .onnx)")
    p.add_argument(
        "--input",
        default="vector",
        choices=["vector", "latent"],
        help="vector: G's full input x; latent: z (+ y labels, + InfoGAN cat/cont)",
    )
    p.add_argument("--json", action="store_true", help="print the export facts as JSON")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args) -> int:
    from ganforge.views.export import export_generator

    facts = export_generator(args.run, args.format, args.out, args.input)
    if args.json:
        print(json.dumps(facts))
        return 0
    inputs = ", ".join(f"{i['name']} {i['shape']} {i['dtype']}" for i in facts["inputs"])
    print(f"wrote {facts['path']} ({facts['format']}; inputs: {inputs}; output images in [-1, 1])")
    print(
        f"checked on {facts['checked_samples']} samples: max |exported - PyTorch| = "
        f"{facts['max_abs_diff']:.2e}"
    )


# ------------------------------------------------------------------------------------ toy
def _result_folder(given: str | None, default: str, force: bool) -> str:
    """Where ``toy``/``lab`` write, never over a user's files silently: a default name that is
    taken gets a suffix (-2, -3, ...); a taken ``--out`` is refused unless ``--force`` and it
    holds an earlier result (result.json), whose files are then replaced."""
    if given is None:
        out, k = Path(default), 2
        while out.exists() and (not out.is_dir() or any(out.iterdir())):
            out, k = Path(f"{default}-{k}"), k + 1
        return str(out)
    out = Path(given)
    if out.exists() and not out.is_dir():
        raise GanforgeError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise GanforgeError(
                f"--out {out} exists and is not empty; choose another folder, or pass --force "
                "to replace an earlier result there"
            )
        if not (out / "result.json").is_file():
            raise GanforgeError(
                f"--out {out} holds no earlier result (result.json); --force replaces only "
                "those, choose another folder"
            )
    return str(out)


def _add_toy(sub) -> None:
    p = sub.add_parser(
        "toy",
        help="mode-collapse benchmark on 2-D Gaussian mixtures",
        description="Train a recipe on ring8/grid25 and report modes, high-quality fraction "
        "and reverse KL (VEEGAN/PacGAN metrics on 2,500 samples).",
    )
    p.add_argument("recipe", nargs="?", default=None, help="recipe (default: the best on the toys)")
    p.add_argument("--dataset", required=True, choices=["ring8", "grid25"])
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


def _cmd_toy(args) -> int:
    from ganforge.config import parse_set_args
    from ganforge.toy import BEST_RECIPE, run_benchmark

    if args.steps is not None and args.steps < 1:
        raise GanforgeError(f"bad --steps {args.steps}: must be at least 1")
    recipe = args.recipe or BEST_RECIPE[args.dataset]
    out = _result_folder(args.out, f"runs/toy-{args.dataset}-{recipe}", args.force)
    result = run_benchmark(
        args.dataset,
        args.recipe,  # None: the best recipe with its settings (ganforge.toy.BEST_SETTINGS)
        steps=args.steps,
        seeds=args.seeds,
        out=out,
        overrides=parse_set_args(args.sets),
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if args.json:
        print(json.dumps(result))
    else:

        def fmt(v, pct=False):
            k = 100 if pct else 1
            if isinstance(v, dict):
                return f"{k * v['mean']:.3f} ± {k * v['se']:.3f}"
            return f"{k * v:.3f}"

        print(
            f"{recipe} on {args.dataset} ({result['seeds']} seed(s), {result['steps']} steps): "
            f"modes {fmt(result['modes'])}, high quality {fmt(result['high_quality'], True)} %, "
            f"reverse KL {fmt(result['reverse_kl'])}, {result['seconds_per_run']:.1f} s/run"
        )
        print(f"pictures: {out}")
    return 0


# ------------------------------------------------------------------------------------ lab
def _add_lab(sub) -> None:
    from ganforge.lab import EXPERIMENTS

    p = sub.add_parser(
        "lab",
        help="theory experiments of the notes",
        description="; ".join(f"{k}: {v[1]}" for k, v in EXPERIMENTS.items()),
    )
    p.add_argument("experiment", choices=list(EXPERIMENTS))
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
    from ganforge.lab import run_experiment

    out = _result_folder(args.out, f"runs/lab-{args.experiment}", args.force)
    result = run_experiment(args.experiment, out, steps=args.steps, seed=args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            if isinstance(value, int | float | str):
                print(f"{key}: {value}")
        print(f"wrote {out}/result.json and {', '.join(Path(f).name for f in result['files'])}")


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
        "--metrics", default="fid,kid,is,pr,dc", help="comma list of fid,kid,is,pr,dc,cas,nn or all"
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
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args) -> int:
    from ganforge.metrics.evaluate import evaluate_target, parse_metrics
    from ganforge.metrics.frechet import MIN_SAMPLES

    wanted = parse_metrics(args.metrics)
    if args.n < 2:
        raise GanforgeError(f"bad --n {args.n}: must be at least 2")
    is_run = Path(args.target).is_dir()
    if "fid" in wanted and is_run and args.n < MIN_SAMPLES and not args.allow_small:
        raise GanforgeError(
            f"FD on {args.n} < {MIN_SAMPLES} samples is too biased to compare: raise --n "
            "or pass --allow-small"
        )
    result = evaluate_target(
        args.target,
        dataset=args.dataset,
        metrics=wanted,
        n=args.n,
        features=args.features,
        seed=args.seed,
        labels=args.labels,
        which="best" if args.best else "latest",
        raw=args.raw,
    )
    info = result.pop("info")
    if "fid" in wanted and info["n"] < MIN_SAMPLES:
        if not args.allow_small:
            raise GanforgeError(
                f"FD on {info['n']} < {MIN_SAMPLES} samples is too biased to compare: use more "
                "images or pass --allow-small"
            )
        print(f"WARNING: {info['fid_warning']}", file=sys.stderr)
    print(f"target: {info['target']}  ({info['n']} samples)")
    print(f"features: {info['extractor']} (sha256 {str(info['extractor_sha256'])[:12]})")
    print(f"real reference: {info['reference']}")
    if "nn_reference" in info:
        print(f"memorisation reference: {info['nn_reference']}; {info['memorisation']}")
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


# ------------------------------------------------------------------------------- features
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
    from ganforge.metrics.domain import (
        log_stderr,
        save_domain_extractor,
        train_domain_extractor,
    )

    dataset = args.dataset
    if ":" not in dataset and Path(dataset).expanduser().is_dir():
        dataset = f"folder:{dataset}"
    if args.channels not in (0, 1, 3):
        raise GanforgeError(f"bad --channels {args.channels}: use 1 or 3")
    if args.image_size < 0 or args.batch_size < 1:
        raise GanforgeError("--image-size must be >= 0 and --batch-size >= 1")
    name = Path(dataset.partition(":")[2] or dataset).name or "data"
    out = Path(args.out or f"{name}-features.safetensors")
    if out.suffix != ".safetensors":
        raise GanforgeError(f"--out {out}: the file name must end in .safetensors")
    if out.exists() and not args.force:
        raise GanforgeError(f"{out} exists; pass --force to replace it or choose another --out")
    net, card = train_domain_extractor(
        dataset,
        steps=args.steps,
        image_size=args.image_size,
        channels=args.channels,
        batch_size=args.batch_size,
        seed=args.seed,
        log=log_stderr,
    )
    card["command"] = (
        f"ganforge features train {dataset} --steps {args.steps} --image-size "
        f"{card['input_shape'][-1]} --channels {card['input_shape'][0]} --batch-size "
        f"{args.batch_size} --seed {args.seed} --out {out}"
    )
    path = save_domain_extractor(net, card, out)
    c, size, _ = card["input_shape"]
    print(
        f"wrote {path} and {path.with_suffix('.json').name}: {card['objective']} objective, "
        f"{card['images']} images {c}x{size}x{size}, train accuracy {card['train_accuracy']:.3f}"
    )
    print(f"use it with: ganforge eval RUN --features {path}")
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


COMMANDS = [_add_train, _add_sample, _add_recipes, _add_data, _add_eval, _add_features]
COMMANDS += [_add_toy, _add_lab]
COMMANDS += [_add_translate, _add_report, _add_timelapse, _add_interpolate, _add_runs, _add_export]
from ganforge.study.cli import add_parser as _add_study  # noqa: E402  (issue 18)

COMMANDS += [_add_study]


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
