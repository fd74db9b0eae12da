"""``ganforge study``: parse the arguments, call ``api.study`` (or print a study's table)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganforge import api
from ganforge.config import parse_set_args
from ganforge.errors import GanforgeError

DEFAULT_BUDGET = api.STUDY_DEFAULT_BUDGET

DESCRIPTION = (
    "Train every recipe over seeds (and sampled hyper-parameters) at one equal budget and "
    "report FD as distributions (Lucic et al. 2018). Re-running continues the study; "
    "--shard i/n runs one share, so many machines can share one folder. See docs/study.md."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study", help="equal-budget study of recipes over seeds", description=DESCRIPTION
    )
    p.add_argument("--recipes", help="comma list of recipes, e.g. dcgan,wgan-gp,hinge-sn")
    p.add_argument("--seeds", type=int, default=3, help="seeds per recipe and setting (default 3)")
    p.add_argument(
        "--budget",
        default=DEFAULT_BUDGET,
        help=f"per cell: 10m, 2000steps, 1Mimg or 5e13flop (default {DEFAULT_BUDGET}: FLOPs "
        "mean the same on every machine and charge critic steps)",
    )
    p.add_argument("--dataset", default="fashion-mnist", help="default fashion-mnist")
    p.add_argument("--out", help="the study folder, e.g. studies/NAME")
    p.add_argument("--metrics", default="fid", help="comma list of fid,kid,pr,cas (default fid)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--sample-hparams", type=int, default=0, metavar="N",
                   help="draw N settings per recipe from wide ranges (default 0: the recipe's own)")  # fmt: skip
    p.add_argument("--eval-n", type=int, default=10_000, help="samples scored per cell")
    p.add_argument("--allow-small", action="store_true", help="allow FD on < 2048 samples")
    p.add_argument("--workers", type=int, default=1, help="cells trained at once (processes)")
    p.add_argument("--shard", default="0/1", metavar="I/N", help="run share I of N (0-based)")
    p.add_argument("--summary", metavar="STUDY", help="print the table of STUDY and exit")
    p.add_argument("--json", action="store_true", help="print the summary as a JSON last line")
    p.set_defaults(func=run)


def parse_shard(text: str) -> tuple[int, int]:
    index, sep, count = str(text).partition("/")
    try:
        shard = int(index), int(count)
    except ValueError:
        shard = (-1, 0)
    if not sep or shard[1] < 1 or not 0 <= shard[0] < shard[1]:
        raise GanforgeError(f"bad --shard {text!r}: use I/N with 0 <= I < N, e.g. --shard 0/4")
    return shard


def _summary_only(args: argparse.Namespace) -> int:
    if args.recipes or args.out:
        raise GanforgeError("--summary STUDY prints a study's table: drop --recipes and --out")
    summary = api.study_summary(args.summary)
    print(json.dumps(summary) if args.json else api.study_table(summary))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.summary:
        return _summary_only(args)
    if not args.recipes or not args.out:
        raise GanforgeError("study needs --recipes R1,R2,... and --out STUDY (or --summary STUDY)")
    summary = api.study(
        [r.strip() for r in args.recipes.split(",") if r.strip()],
        args.out,
        seeds=args.seeds,
        budget=args.budget,
        dataset=args.dataset,
        metrics=[m.strip() for m in args.metrics.split(",") if m.strip()],
        sets=parse_set_args(args.sets),
        sample_hparams=args.sample_hparams,
        eval_n=args.eval_n,
        allow_small=args.allow_small,
        workers=args.workers,
        shard=parse_shard(args.shard),
    )
    print(api.study_table(summary))
    for name in ("study.jsonl", "study.md", "study.html"):
        print(f"wrote {Path(args.out) / name}")
    if args.json:
        print(json.dumps(summary))
    return 0
