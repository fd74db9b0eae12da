"""Commands of restoration: ``upscale`` (super-resolution runs). Each parses its arguments and
calls ``ganforge.api_restore``."""

from __future__ import annotations


def _add_upscale(sub) -> None:
    p = sub.add_parser(
        "upscale",
        help="upscale images with a srresnet/srgan run",
        description="Upscale images with a trained super-resolution run (srresnet or srgan) by "
        "its factor (x2 or x4). Images of any size are accepted (G is fully convolutional); "
        "their channels must be the run's. Writes PNGs of the same names under --out.",
    )
    p.add_argument("run")
    p.add_argument("--input", required=True, help="an image file or a folder of images")
    p.add_argument("--out", required=True, help="folder for the upscaled PNGs")
    p.add_argument("--force", action="store_true", help="replace existing files in --out")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_cmd_upscale)


def _cmd_upscale(args) -> int:
    from ganforge import api_restore

    written = api_restore.upscale(
        args.run, args.input, args.out, force=args.force, device=args.device
    )
    print(f"wrote {len(written)} upscaled images to {args.out}")
    return 0


COMMANDS = [_add_upscale]
