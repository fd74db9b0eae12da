"""Commands that turn runs into pages and pictures: report, timelapse, interpolate, runs,
export. Each parses its arguments and calls ``ganforge.api_views``."""

from __future__ import annotations

import json

from ganforge.cli_args import parse_classes
from ganforge.errors import GanforgeError


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
    from ganforge import api_views

    path = api_views.report(args.run, args.out)
    print(f"wrote {path}")
    if args.screenshot:
        result = api_views.check_report(path, args.screenshot)
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
    from ganforge import api_views

    path = api_views.timelapse(args.run, args.out, frame_ms=args.frame_ms)
    print(f"wrote {path} ({api_views.gif_frames(path)} frames)")
    return 0


def _add_interpolate(sub) -> None:
    p = sub.add_parser(
        "interpolate",
        help="latent walks (or class morphs) as a grid PNG and a GIF",
        description="Walk G's latent space; for conditional runs, --classes a,b morphs a -> b.",
    )
    p.add_argument("run")
    p.add_argument("--steps", type=int, default=10, help="images per walk (default 10)")
    p.add_argument("--mode", choices=["lerp", "slerp"], help="default slerp in z, lerp in w")
    p.add_argument("--space", choices=["z", "w"], default="z", help="w: styles (style runs)")
    p.add_argument("--from", dest="start", help="latent file (`ganforge project`) to start at")
    p.add_argument("--to", dest="end", help="latent file to end at (one walk per latent)")
    p.add_argument("--classes", help="morph between classes, e.g. 3,8 (conditional runs)")
    p.add_argument("--rows", type=int, default=8, help="walks, one per row (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="PNG path; the GIF is written beside it")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_cmd_interpolate)


def _cmd_interpolate(args) -> int:
    from ganforge import api_views

    classes = parse_classes(args.classes)
    png, gif = api_views.interpolate(
        args.run,
        steps=args.steps,
        mode=args.mode,
        classes=classes,
        rows=args.rows,
        seed=args.seed,
        out=args.out,
        device=args.device,
        space=args.space,
        start=args.start,
        end=args.end,
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
    from ganforge import api_views

    rows = api_views.runs_table(args.dir, args.sort)
    print(json.dumps(rows, indent=2) if args.json else api_views.format_runs(rows))
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
    from ganforge import api_views

    facts = api_views.export(args.run, args.format, args.out, args.input)
    if args.json:
        print(json.dumps(facts))
        return 0
    inputs = ", ".join(f"{i['name']} {i['shape']} {i['dtype']}" for i in facts["inputs"])
    print(f"wrote {facts['path']} ({facts['format']}; inputs: {inputs}; output images in [-1, 1])")
    print(
        f"checked on {facts['checked_samples']} samples: max |exported - PyTorch| = "
        f"{facts['max_abs_diff']:.2e}"
    )
    return 0


COMMANDS = [_add_report, _add_timelapse, _add_interpolate, _add_runs, _add_export]
