#!/usr/bin/env bash
# Exact resume as a user meets it (issue 16): prints one line per check, "identical" or "DIFFERENT".
#   bash scripts/resume_check.sh OUTDIR [RECIPES...]
# 1. dcgan on Fashion-MNIST, 120 steps, checkpoint every 10, killed with SIGKILL a few seconds
#    after its first checkpoint, then `train --resume`: final checkpoint vs an uninterrupted run.
# 2. for each recipe (default: all): 24 steps with checkpoint_every=8, a copy cut back to its
#    step-8 checkpoint (as after a crash right after it), resumed: step-24 bytes vs the original.
# SKIP_KILL=1 / SKIP_CUT=1 skip a part. Default thread count throughout (ganforge chooses; a resume takes the count of its run).
set -u
out=${1:?usage: resume_check.sh OUTDIR [RECIPES...]}; shift
py=${PYTHON:-python}
gf() { "$py" -m ganforge "$@"; }
mkdir -p "$out"
same() { cmp -s "$1" "$2" && echo identical || echo DIFFERENT; }

if [ "${SKIP_KILL:-0}" != 1 ]; then
  args=(train dcgan --steps 120 --seed 3 --set checkpoint_every=10 --set report=false)
  gf "${args[@]}" --out "$out/A" 2>/dev/null >/dev/null
  "$py" -m ganforge "${args[@]}" --out "$out/B" >/dev/null 2>&1 &  # $! is python itself
  pid=$!
  until [ -n "$(ls "$out/B/checkpoints" 2>/dev/null | grep step-)" ]; do sleep 0.2; done
  sleep 3
  kill -9 $pid; wait $pid 2>/dev/null
  at=$(ls "$out/B/checkpoints" | grep step- | tail -1)
  gf train --resume "$out/B" >/dev/null 2>"$out/B-resume.err" || { echo "dcgan: resume failed: $(tail -1 "$out/B-resume.err")"; }
  echo "dcgan kill -9 after $at, resumed: $(same "$out/A/checkpoints/step-000120.safetensors" "$out/B/checkpoints/step-000120.safetensors")"
fi

[ "${SKIP_CUT:-0}" = 1 ] && exit 0
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || mapfile -t recipes < <(gf recipes | awk '{print $1}')
for r in "${recipes[@]}"; do
  extra=()
  case $r in pix2pix|cyclegan) extra=(--image-size 32 --batch-size 8);; esac
  gf train "$r" --steps 24 --seed 3 --set checkpoint_every=8 --set keep_checkpoints=10 \
    --set report=false "${extra[@]}" --out "$out/cut-$r" >/dev/null 2>&1 || { echo "$r: train failed"; continue; }
  cp -r "$out/cut-$r" "$out/cut-$r-copy"
  rm "$out/cut-$r-copy/checkpoints/step-000016.safetensors" "$out/cut-$r-copy/checkpoints/step-000024.safetensors"
  gf train --resume "$out/cut-$r-copy" >/dev/null 2>&1 || { echo "$r: resume failed"; continue; }
  echo "$r cut back to step 8, resumed to 24: $(same "$out/cut-$r/checkpoints/step-000024.safetensors" "$out/cut-$r-copy/checkpoints/step-000024.safetensors")"
done
