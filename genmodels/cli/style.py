"""The style-transfer lesson's verbs of ``python -m genmodels`` (cli/__init__.py adds them to its parser):

    python -m genmodels stylize --content FILE|astronaut --style FILE|brick [--size 256] [--steps 300]
           [--features random|vgg19|squeezenet] [--optimizer lbfgs|adam] [--style-weight X]
           [--content-weight X] [--tv-weight X] [--start content|noise] [--seed N] [--device ...] --out out.png
    python -m genmodels weights vgg19|squeezenet     (download and check a network's ImageNet weights)
    python -m genmodels bench --style [--quick]      (steps/s, memory, time to converge: BENCHMARKS.md)

``stylize`` draws a progress bar on a terminal and prints, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genmodels.cli.progress import TerminalProgress
from genmodels.i18n import _


def picture_argument(text: str) -> str:
    """A bundled picture's name or an existing file."""
    from genmodels.lessons.pictures import PICTURES

    if text in PICTURES or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(_("{value} is neither a file nor a bundled picture ({names})", value=repr(text),
                                       names=", ".join(PICTURES)))


def add_commands(commands) -> None:
    from genmodels.lessons.style_transfer import MAX_SIZE, MIN_SIZE, OPTIMIZERS, STARTS
    from genmodels.models.features import NETWORKS
    from genmodels.sources.weights import WEIGHTS

    stylize = commands.add_parser("stylize", help=_("paint a picture in the style of another (neural style "
                                                    "transfer), or synthesise a texture"))
    stylize.add_argument("--content", required=True, type=picture_argument,
                         help=_("an image file or a bundled picture (astronaut, chelsea, ...)"))
    stylize.add_argument("--style", required=True, type=picture_argument,
                         help=_("an image file or a bundled picture (brick, grass, waves, ...)"))
    stylize.add_argument("--size", type=int, default=256,
                         help=_("long side of the result in pixels, {low} to {high}", low=MIN_SIZE, high=MAX_SIZE))
    stylize.add_argument("--steps", type=int, default=300)
    stylize.add_argument("--features", default="random", choices=list(NETWORKS))
    stylize.add_argument("--optimizer", default="lbfgs", choices=list(OPTIMIZERS))
    stylize.add_argument("--style-weight", type=float, help=_("default: the network's own"))
    stylize.add_argument("--content-weight", type=float, default=1.0, help=_("0: texture synthesis"))
    stylize.add_argument("--tv-weight", type=float, default=0.0)
    stylize.add_argument("--start", default=None, choices=list(STARTS), help=_("default: content (noise for textures)"))
    stylize.add_argument("--seed", type=int, default=0)
    stylize.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    stylize.add_argument("--out", required=True, help=_("the PNG file to write"))

    weights = commands.add_parser("weights", help=_("download and check a feature network's ImageNet weights"))
    weights.add_argument("network", choices=list(WEIGHTS))


def load_picture(name: str):
    from genmodels.lessons.pictures import PICTURES, bundled, from_upload

    if name in PICTURES:
        return bundled(name)
    return from_upload(Path(name).name, Path(name).read_bytes())


def feature_network(name: str, seed: int):
    """The network ``name``, its weights read from the cache (WeightsUnavailable says how to get them)."""
    from genmodels.models.features import build_network
    from genmodels.sources.weights import trained_state_dict

    return build_network(name, seed=seed, state_dict=None if name == "random" else trained_state_dict(name))


class StyleProgress(TerminalProgress):
    """The style transfer's progress bar and its start line."""

    def __call__(self, event) -> None:
        from genmodels.lessons.style_transfer import Started, Step

        if not self.enabled:
            return
        if isinstance(event, Started):
            self.total = event.total_steps
            print(_("{features} features, {width}x{height} px on {device}", features=event.features, width=event.width,
                    height=event.height, device=event.device), file=sys.stderr)
        elif isinstance(event, Step):
            self.draw(event.step, _("step {step}/{total} loss {loss} {speed} steps/s", step=event.step,
                                    total=self.total, loss=f"{event.losses.total:.4g}",
                                    speed=f"{event.steps_per_second:.1f}"))


def cmd_stylize(args) -> int:
    import dataclasses

    from genmodels.images import to_uint8
    from genmodels.lessons.style_transfer import StyleConfig, run
    from genmodels.models.features import network_info

    start = args.start or ("noise" if args.content_weight == 0 else "content")
    config = StyleConfig(features=args.features, size=args.size, steps=args.steps, optimizer=args.optimizer,
                         content_weight=args.content_weight, tv_weight=args.tv_weight, start=start, seed=args.seed,
                         device=args.device, snapshot_every=0,
                         style_weight=args.style_weight if args.style_weight is not None else
                         network_info(args.features).style_weight)
    content, style = load_picture(args.content), load_picture(args.style)
    network = feature_network(args.features, args.seed)
    progress = StyleProgress()
    finished = run(config, content, style, network, on_event=progress)
    if progress.enabled:
        print(file=sys.stderr)
    from PIL import Image

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(finished.image[None])[0]).save(out, format="PNG")
    print(json.dumps({
        "features": config.features, "size": config.size, "steps": finished.step,
        "seconds": round(finished.seconds, 3), "steps_per_second": round(finished.step / finished.seconds, 3),
        "content_loss_start": finished.start.content, "content_loss_end": finished.end.content,
        "style_loss_start": finished.start.style, "style_loss_end": finished.end.style,
        "config": dataclasses.asdict(config), "out": str(out)}))
    return 0


def cmd_weights(args) -> int:
    from genmodels.sources.weights import WEIGHTS, download, local_file, trained_state_dict

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            share = f"{100 * done / total:5.1f}%" if total else ""
            print(f"\r{done / 2**20:8.1f} MiB {share}", end="", file=sys.stderr, flush=True)

    path = local_file(args.network)
    if path is None:
        print(_("downloading {url}", url=WEIGHTS[args.network].url), file=sys.stderr)
        path = download(args.network, progress)
        print(file=sys.stderr)
    trained_state_dict(args.network)  # checked and readable
    print(json.dumps({"network": args.network, "file": str(path), "checked": True}))
    return 0


def cmd_style_bench(args) -> int:
    from benchmarks.bench import machine_info
    from benchmarks.style_bench import format_row, run_style_bench

    rows = []
    for row in run_style_bench(quick=args.quick, device=args.device, threads=args.threads):
        print(format_row(row), flush=True)
        rows.append(row)
    print(json.dumps({"style": rows, "machine": machine_info()}))
    return 0


COMMANDS = {"stylize": cmd_stylize, "weights": cmd_weights}
