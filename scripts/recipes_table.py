"""Generate the recipe table of docs/recipes.md from ganforge.recipes (the code is the truth).

python scripts/recipes_table.py          # print the table
python scripts/recipes_table.py --write  # replace the table between the markers in the doc
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.recipes import RECIPES

DOC = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"
BEGIN, END = "<!-- recipes-table:begin -->", "<!-- recipes-table:end -->"


def _g(x: float) -> str:
    return f"{x:g}"


def row(name: str) -> str:
    r = RECIPES[name]
    c = r.config()
    reg = []
    if c.penalty == "r1" and c.r1_auto:
        every = f", every {c.penalty_every}" if c.penalty_every > 1 else ""
        reg.append(f"r1 γ=0.0002·res²/batch{every}")
    elif c.penalty != "none":
        reg.append(f"{c.penalty} λ={_g(c.penalty_weight)}")
    if c.clip:
        reg.append(f"clip c={_g(c.clip)}")
    if c.spectral_norm:
        reg.append("spectral norm")
    if c.optimizer == "adam":
        opt = f"Adam G {_g(c.lr_g)} / D {_g(c.lr_d)}, β=({_g(c.beta1)}, {_g(c.beta2)})"
    else:
        opt = f"RMSProp G {_g(c.lr_g)} / D {_g(c.lr_d)}"
    cond = c.conditioning
    if cond == "infogan":
        cond = f"infogan: {c.info_categorical}-way cat + {c.info_continuous} cont, λ={_g(c.info_weight)}"
    elif cond == "acgan":
        cond = f"acgan (aux weight {_g(c.aux_weight)})"
    cells = [
        f"`{name}`",
        c.arch,
        c.loss,
        ", ".join(reg) or "—",
        cond,
        f"G {c.g_norm} / D {c.d_norm}",
        opt,
        str(c.d_steps),
        str(c.z_dim),
        r.source,
    ]
    return "| " + " | ".join(cells) + " |"


def table() -> str:
    head = (
        "| recipe | arch | loss | D regulariser | conditioning | norm | optimiser | n_critic "
        "| z | source |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *(row(n) for n in RECIPES)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help=f"update {DOC}")
    args = p.parse_args()
    if not args.write:
        print(table())
        return
    text = DOC.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + table() + "\n" + text[stop:])
    print(f"updated {DOC}")


if __name__ == "__main__":
    main()
