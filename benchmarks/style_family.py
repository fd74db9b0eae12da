"""DCGAN -> Progressive GAN -> StyleGAN at equal wall time on Fashion-MNIST (issue 20).

Trains ``dcgan``, ``progan`` and ``stylegan`` (progan and stylegan pad the 28 px images to a
32 px canvas and crop their samples back, so every recipe is scored on 28 px images against the
real ones, no resizing) for ``--minutes`` each, one after the other on the same machine, and
scores each final generator (EMA where the recipe has one) with our shipped extractor on the
test split, 10,000 samples: FD, KID, precision and recall (k = 3). Then:

- PPL (docs/metrics.md; ``benchmarks/ppl_table.py``'s rows): Z and W, full paths and ends, for
  stylegan; Z for dcgan and progan; ``--ppl-samples`` pairs each, the distance named in the
  table (the extractor-trunk LPIPS-style distance: no VGG weights offline).
- The truncation sweep psi in {0.5, 0.7, 1.0} for stylegan: FD, IS analogue, precision, recall.
- Pictures: stylegan's style-mixing grid and samples, progan's growth timelapse, into --img.

Every run is an ordinary run folder under ``--runs``; a re-run skips finished runs (and
resumes interrupted ones), and scores already written to the JSON are kept, so the benchmark
survives stops. Wall-clock budgets only mean something on a quiet machine: the load average is
printed first and recorded.

    python benchmarks/style_family.py --minutes 30 --runs runs/style-bench --doc docs/bench \
        --img docs/img
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from ganforge import api, api_latent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import Results, run_facts, train_for  # noqa: E402
from machine import cpu_description, load_average  # noqa: E402
from ppl_table import ppl_rows  # noqa: E402

RECIPES = ("dcgan", "progan", "stylegan")
PSI = (0.5, 0.7, 1.0)


def score(recipe: str, run: Path, args: argparse.Namespace) -> dict:
    facts = json.loads((run / "run.json").read_text())
    scores, info = api.evaluate_with_info(run, "fid,kid,pr", n=args.n)
    row = {"recipe": recipe, "steps": facts.get("steps"), "wall_seconds": facts.get("wall_seconds")}
    row.update({k: float(v) for k, v in scores.items()})
    row["extractor"] = info.get("extractor")
    row["ppl"] = ppl_rows(run, args.ppl_samples, None, "cpu")
    row["curve"] = curve(run, args.n)
    if recipe == "stylegan":
        row["truncation"] = api.truncation_sweep(run, list(PSI), n=args.n)
    return row


def curve(run: Path, n: int) -> list[dict]:
    """FD of every checkpoint the run kept before its last (the trainer keeps the latest few,
    one per ``checkpoint_minutes``), each loaded from a temporary copy of the run holding only
    that checkpoint: how FD moved with wall time, to tell whether and where the curves cross."""
    from ganforge.training import checkpoint as ckpt

    elapsed = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        if "elapsed" in row:
            elapsed[int(row["step"])] = float(row["elapsed"])
    points = []
    for path in ckpt.checkpoint_files(run / "checkpoints")[:-1]:
        step = int(ckpt.STEP_FILE.match(path.name).group(1))
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / run.name
            (copy / "checkpoints").mkdir(parents=True)
            for name in ("config.json", "run.json"):
                shutil.copy(run / name, copy / name)
            for f in run.glob(f"checkpoints/{path.name.split('.')[0]}.*"):
                shutil.copy(f, copy / "checkpoints" / f.name)
            fd = api.evaluate(copy, "fid", n=n)["fid"]
        before = [t for s, t in elapsed.items() if s <= step]
        points.append({"step": step, "minutes": round(max(before, default=0) / 60, 1),
                       "fid": float(fd)})  # fmt: skip
    return points


def equal_images(style: dict, args: argparse.Namespace) -> dict:
    """dcgan trained on as many images as stylegan saw in its wall time: quality per image
    seen, apart from the cost per image on this machine."""
    from ganforge.recipes import get_recipe

    images = style["steps"] * get_recipe("stylegan").config().batch_size
    steps = round(images / get_recipe("dcgan").config().batch_size)
    run = args.runs / "dcgan-equal-images"
    facts = train_for("dcgan", run, steps=steps, seed=args.seed, report=False)
    scores = api.evaluate(run, "fid,kid,pr", n=args.n)
    return {"recipe": "dcgan", "images": images, "steps": facts.get("steps"),
            "wall_seconds": facts.get("wall_seconds"), **{k: float(v) for k, v in scores.items()}}  # fmt: skip


def pictures(runs: Path, img: Path) -> list[str]:
    img.mkdir(parents=True, exist_ok=True)
    made = []
    style = runs / "stylegan"
    if run_facts(style).get("status") == "finished":
        api_latent.mix(style, 4, 4, out=img / "style-mixing.png", device="cpu")
        shutil.copy(style / "samples.png", img / "style-samples.png")
        made += ["style-mixing.png", "style-samples.png"]
    growth = runs / "progan" / "timelapse.gif"
    if growth.is_file():
        shutil.copy(growth, img / "progan-growth.gif")
        shutil.copy(runs / "progan" / "samples.png", img / "progan-samples.png")
        made += ["progan-growth.gif", "progan-samples.png"]
    dcgan = runs / "dcgan" / "samples.png"
    if dcgan.is_file():
        shutil.copy(dcgan, img / "style-bench-dcgan-samples.png")
        made.append("style-bench-dcgan-samples.png")
    return made


def result(rows: list[dict], minutes: float) -> str:
    """The page's headline: the FDs side by side, and whether stylegan beat dcgan (the goal)."""
    fd = {r["recipe"]: r["fid"] for r in rows}
    speed = {r["recipe"]: r["steps"] / r["wall_seconds"] for r in rows if r.get("wall_seconds")}
    text = f"**Result.** After {minutes:g} minutes each, FD " + ", ".join(
        f"`{k}` {v:.1f}" for k, v in fd.items()
    )
    if "stylegan" in fd and "dcgan" in fd:
        verdict = "below" if fd["stylegan"] < fd["dcgan"] else "not below"
        text += f": stylegan's FD is {verdict} dcgan's at equal wall time"
        if "stylegan" in speed and "dcgan" in speed:
            text += (
                f" (G steps per second: dcgan {speed['dcgan']:.1f}, stylegan "
                f"{speed['stylegan']:.2f})"
            )
    return text + "."


def reading(rows: list[dict]) -> list[str]:
    """What the tables say about the issue's expectations, read from the figures."""
    by = {r["recipe"]: r for r in rows}
    out = ["", "## Reading", ""]
    style = by.get("stylegan")
    if style:
        ppl = {(p["space"], p["sampling"]): p["ppl"] for p in style["ppl"]}
        if ("w", "full") in ppl and ("z", "full") in ppl:
            out.append(
                f"- PPL of stylegan: W {ppl['w', 'full']:.1f} against Z {ppl['z', 'full']:.1f} "
                f"(full paths): W {'<' if ppl['w', 'full'] < ppl['z', 'full'] else '>='} Z, "
                "as expected."
                if ppl["w", "full"] < ppl["z", "full"]
                else f"- PPL of stylegan: W {ppl['w', 'full']:.1f} is not below Z "
                f"{ppl['z', 'full']:.1f}."
            )
            for space in ("w", "z"):
                full, end = ppl.get((space, "full")), ppl.get((space, "end"))
                if full is not None and end is not None:
                    out.append(
                        f"- {space.upper()}: endpoints {end:.1f}, full paths {full:.1f} "
                        f"(endpoints {'<=' if end <= full else '>'} full)."
                    )
        trunc = style.get("truncation", {}).get("rows", [])
        if len(trunc) > 1:
            trunc = sorted(trunc, key=lambda t: t["truncation"])
            prec = [t["precision"] for t in trunc]
            rec = [t["recall"] for t in trunc]
            falling_p = all(a >= b for a, b in zip(prec, prec[1:], strict=False))
            rising_r = all(a <= b for a, b in zip(rec, rec[1:], strict=False))
            out.append(
                "- Truncation: as psi falls from 1, precision "
                + ("rises at every step" if falling_p else "does not rise at every step")
                + " and recall "
                + ("falls at every step." if rising_r else "does not fall at every step.")
            )
    curves = {
        r["recipe"]: [c["fid"] for c in r.get("curve", [])] + [r["fid"]]
        for r in rows
        if r.get("curve")
    }
    if curves:
        out.append(
            "- FD at each kept checkpoint (about every 10 minutes): "
            + "; ".join(f"`{k}` " + " -> ".join(f"{v:.1f}" for v in vs) for k, vs in curves.items())
            + "."
        )
    return out


def table(rows: list[dict], args: argparse.Namespace, cpu: str, load: str) -> str:
    lines = [
        "# DCGAN, Progressive GAN and StyleGAN at equal wall time (issue 20)",
        "",
        f"Generated by `python benchmarks/style_family.py --minutes {args.minutes:g}` on {cpu} "
        f"(load average at start {load}), torch {api_torch_version()}. Fashion-MNIST, "
        f"{args.minutes:g} minutes of training per recipe, one seed; scores of the final "
        f"generator on {args.n} samples against the test split with our shipped extractor "
        "(28 px: progan and stylegan pad to a 32 px canvas and crop back, no resizing).",
        "",
        result(rows, args.minutes),
        "",
        "| recipe | G steps | FD | KID ×10³ | precision | recall |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['recipe']}` | {r['steps']} | {r['fid']:.2f} | {1e3 * r['kid']:.2f} | "
            f"{r['precision']:.3f} | {r['recall']:.3f} |"
        )
    eq = getattr(args, "equal_images", None)
    if eq:
        lines += [
            "",
            f"At equal images seen instead of equal time: `dcgan` trained on the {eq['images']:,} "
            f"images `stylegan` saw in its {args.minutes:g} minutes ({eq['steps']} steps, "
            f"{(eq['wall_seconds'] or 0) / 60:.1f} minutes) reaches FD {eq['fid']:.2f}, KID "
            f"×10³ {1e3 * eq['kid']:.2f}, precision {eq['precision']:.3f}, recall "
            f"{eq['recall']:.3f}.",
        ]
    lines += [
        "",
        "## FD on the way (earlier checkpoints of the same runs)",
        "",
        "| recipe | minutes | G steps | FD |",
        "|---|---|---|---|",
    ]
    for r in rows:
        for c in r.get("curve", []) + [
            {"minutes": (r.get("wall_seconds") or 0) / 60, "step": r["steps"], "fid": r["fid"]}
        ]:
            lines.append(f"| `{r['recipe']}` | {c['minutes']:.1f} | {c['step']} | {c['fid']:.2f} |")
    lines += ["", "## Perceptual path length", ""]
    lines += ["| recipe | space | sampling | PPL | distance |", "|---|---|---|---|---|"]
    for r in rows:
        for p in r["ppl"]:
            lines.append(
                f"| `{r['recipe']}` | {p['space']} | {p['sampling']} | {p['ppl']:.1f} | "
                f"{p.get('distance', '')} |"
            )
    style = next((r for r in rows if r["recipe"] == "stylegan"), None)
    if style:
        lines += ["", "## Truncation (stylegan, toward the tracked average w)", ""]
        lines += ["| psi | FD | IS | precision | recall |", "|---|---|---|---|---|"]
        for t in style["truncation"]["rows"]:
            lines.append(
                f"| {t['truncation']:g} | {t['fid']:.2f} | {t['is']:.2f} | {t['precision']:.3f} | "
                f"{t['recall']:.3f} |"
            )
    lines += reading(rows)
    return "\n".join(lines) + "\n"


def api_torch_version() -> str:
    import torch

    return torch.__version__


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=10_000, help="samples per score")
    p.add_argument("--ppl-samples", type=int, default=5_000)
    p.add_argument("--runs", type=Path, default=Path("runs/style-bench"))
    p.add_argument("--doc", type=Path, default=Path("docs/bench"))
    p.add_argument("--img", type=Path, default=Path("docs/img"))
    p.add_argument("--recipes", default=",".join(RECIPES))
    args = p.parse_args()
    load, cpu = load_average(), cpu_description()
    print(f"load average {load}; {cpu}", flush=True)
    done = Results(args.doc / "style.json")
    if "meta" not in done:  # the load when the first run started, not when the page is redrawn
        done.put("meta", {"load_at_start": load})
    load = done["meta"]["load_at_start"]
    for recipe in args.recipes.split(","):
        if recipe in done:
            continue
        run = args.runs / recipe
        train_for(recipe, run, args.minutes, seed=args.seed)
        done.put(recipe, score(recipe, run, args))
        print(json.dumps({k: v for k, v in done[recipe].items() if k != "truncation"},
                         default=str), flush=True)  # fmt: skip
    if "stylegan" in done and "dcgan-equal-images" not in done:
        done.put("dcgan-equal-images", equal_images(done["stylegan"], args))
    for recipe in RECIPES:  # rows scored before curves existed
        row = done.items.get(recipe)
        if row and "curve" not in row and (args.runs / recipe / "checkpoints").is_dir():
            done.put(recipe, {**row, "curve": curve(args.runs / recipe, args.n)})
    made = pictures(args.runs, args.img)
    rows = [done[r] for r in RECIPES if r in done]
    args.equal_images = done.items.get("dcgan-equal-images")
    text = table(rows, args, cpu, load)
    text += "\n" + "\n".join(f"![{m}](../img/{m})" for m in made) + "\n"
    (args.doc / "style.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
