"""``python -m genmodels``: list datasets, train, inspect and evaluate checkpoints, benchmark.

    python -m genmodels datasets
    python -m genmodels fetch [NAME ...]   (download, or install Debian's package; else say how)
    python -m genmodels train FAMILY [--arch mlp|conv] [--dataset NAME] [--epochs N] [--max-steps N]
           [--batch-size N] [--lr X] [--latent-dim N] [--hidden N[,N...]] [--seed N]
           [--device auto|cpu|cuda] [--out FILE.safetensors] [family-specific options]
    python -m genmodels info FILE.safetensors
    python -m genmodels eval FILE.safetensors [--dataset NAME] [--update]
    python -m genmodels classifier [--dataset NAME] [--epochs N]   (the Frechet distance's features)
    python -m genmodels bench [--quick] [--device cpu|cuda] [--compile] [--case NAME] [--threads N]
    python -m genmodels bench --app [--quick]    (the app in headless Chromium)
    python -m genmodels bench --diffusion [--quick] [--samples N]   (diffusion and flow: speed, quality per steps)
    python -m genmodels stylize | weights | bench --style   (the style-transfer lesson: cli/style.py)

``train`` draws a progress bar on a terminal and prints, as its last line, one JSON object.
Errors a user can cause print one line and exit with status 2, never a traceback. What people read
(help, progress, errors) follows LANGUAGE / LC_ALL / LC_MESSAGES / LANG (English or Simplified
Chinese); the JSON keeps its English keys and values. argparse's own words (usage:, the reasons
it gives for a bad argument) stay English.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from genmodels.cli import style as cli_style
from genmodels.cli.progress import TerminalProgress
from genmodels.errors import GenLabError
from genmodels.i18n import _


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints the whole usage; one line is kinder
        self.exit(2, _("{program}: error: {reason} (see --help)", program=self.prog, reason=message) + "\n")


def widths(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none"):
        return ()  # no hidden layer (e.g. a single-layer sparse autoencoder)
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected widths like 400 or 256,128; got {value}", value=repr(text))) \
            from None


def idx_dataset_name(text: str) -> str:
    from genmodels.sources.local import IDX_DATASETS

    if text not in IDX_DATASETS:
        raise argparse.ArgumentTypeError(_("{name} is not a dataset with files; valid: {valid}", name=repr(text),
                                           valid=", ".join(IDX_DATASETS)))
    return text


def build_parser() -> ArgumentParser:
    from genmodels.data import DATASETS
    from genmodels.registry import FAMILIES
    from genmodels.sources.local import IDX_DATASETS

    parser = ArgumentParser(prog="python -m genmodels", description=_("The Generative Models Lab's command line."))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    commands.add_parser("datasets", help=_("list datasets and whether each is available offline"))
    fetch = commands.add_parser("fetch", help=_("get image datasets onto this machine (as `make run` does), or say "
                                                "what to run by hand"))
    fetch.add_argument("names", nargs="*", type=idx_dataset_name, metavar="NAME",
                       help=_("default fashion-mnist; any of {names}", names=", ".join(IDX_DATASETS)))

    train = commands.add_parser("train", help=_("train a model and save it as a .safetensors checkpoint"))
    train.add_argument("family", choices=list(FAMILIES))
    train.add_argument("--dataset", default="fashion-mnist", choices=list(DATASETS))
    train.add_argument("--arch", choices=["mlp", "conv"])
    train.add_argument("--epochs", type=int)
    train.add_argument("--max-steps", type=int, help=_("stop after this many optimizer steps"))
    train.add_argument("--max-seconds", type=float, help=_("stop after this many seconds of wall clock"))
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help=_("learning rate (the generator's, for GANs)"))
    train.add_argument("--ema", type=float, help=_("keep a moving average of the weights with this decay (e.g. "
                                                   "0.999) and save it; 0 for none (ddpm and flow use 0.999)"))
    train.add_argument("--latent-dim", type=int)
    train.add_argument("--hidden", type=widths,
                       help=_("layer widths, e.g. 400 or 256,128; none for no hidden layer (GANs: one width)"))
    train.add_argument("--seed", type=int)
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    train.add_argument("--out", help=_("checkpoint path (default: runs/FAMILY-DATASET-TIME.safetensors)"))
    train.add_argument("--name", help=_("the model's name, stored in the checkpoint"))
    extra = train.add_argument_group(_("family-specific"))
    extra.add_argument("--beta", type=float, help=_("vae: weight on the KL term"))
    extra.add_argument("--rho", type=float, help=_("sparse_ae: target mean activation"))
    extra.add_argument("--sparsity-weight", type=float, help=_("sparse_ae: weight on the sparsity penalty"))
    extra.add_argument("--noise", choices=["none", "gaussian", "salt_pepper", "masking", "block"],
                       help=_("dae: corruption of training inputs"))
    extra.add_argument("--noise-level", type=float, help=_("dae: corruption strength"))
    extra.add_argument("--d-steps", type=int, help=_("gan/dcgan: discriminator steps per generator step"))
    extra.add_argument("--lr-d", type=float, help=_("gan/dcgan: the discriminator's learning rate"))
    extra.add_argument("--gan-loss", choices=["non_saturating", "least_squares"])
    extra.add_argument("--schedule", choices=["linear", "cosine"], help=_("ddpm: the noise schedule"))

    info = commands.add_parser("info", help=_("print a checkpoint's metadata as JSON"))
    info.add_argument("checkpoint")

    evaluate = commands.add_parser("eval", help=_("test-split metrics of a checkpoint as JSON"))
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--dataset", choices=list(DATASETS), help=_("default: the one it was trained on"))
    evaluate.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    evaluate.add_argument("--samples", type=int, default=5000,
                          help=_("generators: samples for the Frechet distance (and its floor)"))
    evaluate.add_argument("--update", action="store_true",
                          help=_("also store the metrics in the checkpoint's metadata (the weights are unchanged)"))

    classifier = commands.add_parser("classifier",
                                     help=_("train the small classifier whose features score GAN samples"))
    classifier.add_argument("--dataset", default="fashion-mnist", choices=list(DATASETS))
    classifier.add_argument("--epochs", type=int, default=5)
    classifier.add_argument("--width", type=int, default=32, help=_("channels of the first convolution"))
    classifier.add_argument("--hidden", type=int, default=128,
                            help=_("units of the hidden layer whose activations are the features (the Frechet "
                                   "distance's classifier); 0: the averages of the last feature maps (the "
                                   "familiarity check's)"))
    classifier.add_argument("--seed", type=int, default=0)
    classifier.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    classifier.add_argument("--out", help=_("default: checkpoints/metrics/DATASET-classifier.safetensors"))

    report = commands.add_parser("denoise-report", help=_("PSNR/SSIM of denoisers and a PCA baseline per noise level"))
    report.add_argument("checkpoints", nargs="+")
    report.add_argument("--dataset", default="fashion-mnist", choices=list(DATASETS))
    report.add_argument("--noise", default="gaussian", choices=["gaussian", "salt_pepper", "masking", "block"])
    report.add_argument("--levels", type=lambda t: [float(v) for v in t.split(",")], default=[0.1, 0.3, 0.5, 0.7])
    report.add_argument("--pca", type=int, default=20, help=_("components of the PCA baseline (0: none)"))
    report.add_argument("--seed", type=int, default=0)

    bench = commands.add_parser("bench", help=_("benchmark our trainer against the classic recipe, or the app"))
    bench.add_argument("--quick", action="store_true", help=_("a short run (under a minute on 2 CPU cores)"))
    bench.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])
    bench.add_argument("--compile", action="store_true",
                       help=_("also time our trainer under torch.compile (compile time reported apart)"))
    bench.add_argument("--case", action="append", dest="cases", metavar="NAME",
                       help=_("only this case (repeatable): mlp-vae-b128, mlp-vae-b512, conv-vae-b128, dcgan-b128"))
    bench.add_argument("--threads", type=int, help=_("torch threads in each run (default: one per core)"))
    bench.add_argument("--app", action="store_true",
                       help=_("instead: the app's responsiveness in headless Chromium (first page, page switch, "
                              "slider to image, chart refresh, server memory)"))
    bench.add_argument("--diffusion", action="store_true",
                       help=_("diffusion and flow: training and sampling speed, Frechet distance per sampling steps"))
    bench.add_argument("--samples", type=int, default=2000, help=_("--diffusion: samples per Frechet distance"))
    bench.add_argument("--style", action="store_true", help=_("instead: the style-transfer lesson's speed"))
    bench.add_argument("--chromium", help=_("--app: the Chromium binary (default: $CHROMIUM, Debian's, Playwright's)"))
    bench.add_argument("--worker", help=argparse.SUPPRESS)  # one side of one case, in a fresh process
    cli_style.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from genmodels.runtime import configure_process

    configure_process()
    try:
        commands = {"datasets": cmd_datasets, "fetch": cmd_fetch, "train": cmd_train, "info": cmd_info,
                    "eval": cmd_eval, "denoise-report": cmd_denoise_report, "bench": cmd_bench,
                    "classifier": cmd_classifier, **cli_style.COMMANDS}
        return commands[args.command](args)
    except GenLabError as error:
        print(_("error: {reason}", reason=error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return 130


def cmd_datasets(args) -> int:
    from genmodels.data import DATASETS, where_available

    for name, info in DATASETS.items():
        where = where_available(name)
        status = (_("offline: {folder}", folder=where) if where else
                  _("not on disk: downloaded through torchvision on first use"))
        print(f"{name:14} {info.kind:7} {info.description}\n{'':23}{status}")
    return 0


def cmd_fetch(args) -> int:
    """The setup step's data part (scripts/setup.py calls the same function): 0 when every named
    dataset is on this machine afterwards, else 1 after the commands to run by hand."""
    from genmodels.sources.fetch import fetch_dataset

    missing = 0
    for name in args.names or ["fashion-mnist"]:
        folder = fetch_dataset(name, lambda text: print(text, flush=True))
        if folder:
            print(f"{name}: {folder}")
        missing += folder is None
    return 1 if missing else 0


class ProgressBar(TerminalProgress):
    """The training run's progress bar, its start line and a line per epoch."""

    def __call__(self, event) -> None:
        from genmodels.training.loop import EpochEnd, Finished, Started, Step

        if not self.enabled:
            return
        if isinstance(event, Started):
            self.total = event.total_steps
            print(_("training {family} on {dataset} ({device}, {parameters} parameters)", family=event.family,
                    dataset=event.dataset, device=event.device, parameters=f"{event.parameters:,}"), file=sys.stderr)
        elif isinstance(event, Step):
            loss = next(iter(event.terms.values()))
            self.draw(event.step, _("step {step}/{total} epoch {epoch} loss {loss} {speed} img/s", step=event.step,
                                    total=self.total, epoch=event.epoch, loss=f"{loss:.4g}",
                                    speed=f"{event.images_per_second:,.0f}"))
        elif isinstance(event, EpochEnd):
            test = ", ".join(f"{k} {v:.4g}" for k, v in event.test.items())
            print("\r" + _("epoch {epoch}: {metrics}", epoch=event.epoch, metrics=test) + " " * 30, file=sys.stderr)
        elif isinstance(event, Finished):
            reason = {"completed": _("completed"), "max_steps": _("reached the step limit"), "stopped": _("stopped"),
                      "time_limit": _("reached the time limit")}.get(event.reason, event.reason)
            print(_("{reason} after {steps} steps in {seconds} s", reason=reason, steps=event.step,
                    seconds=f"{event.seconds:.1f}"), file=sys.stderr)


def cmd_train(args) -> int:
    import dataclasses

    from genmodels import checkpoints, registry
    from genmodels.data import load_dataset
    from genmodels.runtime import resolve_device
    from genmodels.training import loop

    spec = registry.family(args.family)
    device = resolve_device(args.device or "auto")
    dataset = load_dataset(args.dataset, device)
    model_config = registry.model_config(
        spec, dataset, arch=args.arch, latent_dim=args.latent_dim, hidden=args.hidden, beta=args.beta,
        sparsity_target=args.rho, sparsity_weight=args.sparsity_weight, corruption=args.noise,
        noise_level=args.noise_level, d_steps=args.d_steps, loss=args.gan_loss, schedule=args.schedule,
    )
    overrides = {"epochs": args.epochs, "max_steps": args.max_steps, "max_seconds": args.max_seconds,
                 "batch_size": args.batch_size, "lr": args.lr, "ema": args.ema,
                 "lr_discriminator": args.lr_d, "seed": args.seed, "device": args.device}
    train_config = dataclasses.replace(spec.default_train, **{k: v for k, v in overrides.items() if v is not None})
    model = registry.build_model(spec, model_config, seed=train_config.seed)

    result = loop.fit(spec, model, dataset, train_config, on_event=ProgressBar())
    finished = result.finished
    epochs = [e for e in result.events if isinstance(e, loop.EpochEnd)]
    history = [{"step": e.step, **e.terms} for e in result.events if isinstance(e, loop.Step)]
    out = Path(args.out) if args.out else Path("runs") / (
        f"{spec.name}-{dataset.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.safetensors")
    info = checkpoints.make_info(spec.name, model, name=args.name or out.stem, train_config=train_config,
                                 dataset=dataset.name, metrics=finished.test, history=history)
    checkpoints.save_checkpoint(out, model, info)
    summary = {
        "family": spec.name, "dataset": dataset.name, "device": str(device), "epochs": finished.epoch,
        "steps": finished.step, "seconds": round(finished.seconds, 3),
        "train_seconds": round(finished.train_seconds, 3),
        "images_per_second": round(finished.images_per_second, 1),
        "train_loss": epochs[-1].train.get("loss", epochs[-1].train.get("d_loss")) if epochs else None,
        **finished.test, "stopped_because": finished.reason, "out": str(out),
    }
    print(json.dumps(summary))
    return 0


def cmd_info(args) -> int:
    from genmodels.checkpoints import load_checkpoint
    from genmodels.models.common import parameter_count

    loaded = load_checkpoint(args.checkpoint)
    document = loaded.info.to_json()
    document["parameters"] = parameter_count(loaded.model)
    print(json.dumps(document, indent=2))
    return 0


def cmd_eval(args) -> int:
    from genmodels import registry
    from genmodels.checkpoints import load_checkpoint
    from genmodels.data import load_dataset
    from genmodels.errors import ConfigError
    from genmodels.i18n import L_
    from genmodels.runtime import resolve_device

    loaded = load_checkpoint(args.checkpoint)
    info = loaded.info
    name = args.dataset or info.dataset
    if not name:
        raise ConfigError(L_("the checkpoint does not say which dataset it was trained on; pass --dataset"))
    device = resolve_device(args.device)
    dataset = load_dataset(name, device)
    spec = registry.family(info.family)
    registry.check_dataset(spec, dataset)
    config = info.model_config
    if dataset.kind == "image" and (dataset.channels, dataset.image_size) != (config.channels, config.image_size):
        raise ConfigError(L_("{dataset} has {shape} images; the model expects {expected}", dataset=name,
                             shape=f"{dataset.channels}x{dataset.image_size}x{dataset.image_size}",
                             expected=f"{config.channels}x{config.image_size}x{config.image_size}"))
    seed = info.train_config.seed if info.train_config else 0
    metrics = spec.evaluate(loaded.model.to(device).eval(), dataset, seed)
    if info.family in ("gan", "dcgan", "ddpm", "flow") and dataset.kind == "image":
        metrics |= sample_quality_metrics(loaded.model, dataset, seed, args.samples)
    if args.update:
        import dataclasses

        from genmodels.checkpoints import save_checkpoint

        save_checkpoint(args.checkpoint, loaded.model, dataclasses.replace(info, metrics={**info.metrics, **metrics}))
    print(json.dumps({"family": info.family, "dataset": name, "device": str(device), **metrics}))
    return 0


def sample_quality_metrics(model, dataset, seed: int, samples: int = 5000) -> dict[str, float]:
    """A generator's Frechet distance and its floor, when the dataset has a feature classifier."""
    from genmodels.metrics import frechet
    from genmodels.metrics.frechet import classifier_path, load_classifier
    from genmodels.runtime import checkpoint_dir

    path = classifier_path(checkpoint_dir(), dataset.name)
    if not path.exists():
        print(_("note: no feature classifier at {file}, so no Frechet distance (make one with {command})", file=path,
                command=f"python -m genmodels classifier --dataset {dataset.name}"), file=sys.stderr)
        return {}
    classifier = load_classifier(path).model.to(dataset.device)
    reference = frechet.real_statistics(classifier, dataset, samples=samples)
    quality = frechet.sample_quality(model, classifier, reference, seed=seed)
    return {"frechet": quality.frechet, "frechet_floor": quality.floor, "frechet_samples": quality.samples,
            "effective_classes": quality.effective_classes}


def cmd_classifier(args) -> int:
    """The feature classifier trains like every family (registry "classifier", the same loop) and is
    saved as a checkpoint in checkpoints/metrics/, where the model pickers do not look."""
    from genmodels import checkpoints, registry
    from genmodels.configs import TrainConfig
    from genmodels.data import load_dataset
    from genmodels.metrics import frechet
    from genmodels.runtime import checkpoint_dir, resolve_device
    from genmodels.training import loop

    device = resolve_device(args.device)
    dataset = load_dataset(args.dataset, device)
    spec = registry.family("classifier")
    model = registry.build_model(spec, registry.model_config(spec, dataset, width=args.width, hidden=args.hidden),
                                 seed=args.seed)
    config = TrainConfig(epochs=args.epochs, batch_size=128, lr=1e-3, seed=args.seed, device=args.device,
                         snapshot_every=0)
    started = time.monotonic()
    result = loop.fit(spec, model, dataset, config)
    accuracy = result.finished.test["test_accuracy"]
    out = args.out or frechet.classifier_path(checkpoint_dir(), dataset.name)
    history = [{"step": e.step, **e.terms} for e in result.events if isinstance(e, loop.Step)]
    checkpoints.save_checkpoint(out, model, checkpoints.make_info(
        "classifier", model, name=f"{dataset.name}-classifier", train_config=config, dataset=dataset.name,
        metrics=result.finished.test, history=history))
    floor = frechet.real_statistics(model.eval(), dataset, seed=args.seed).floor
    print(json.dumps({"dataset": dataset.name, "test_accuracy": accuracy, "frechet_floor": floor,
                      "seconds": round(time.monotonic() - started, 1), "out": str(out)}))
    return 0


def cmd_denoise_report(args) -> int:
    """One JSON line per noise level: mean PSNR and SSIM on the whole test split of the noisy input,
    the PCA baseline and every checkpoint, all on the same seeded noise."""
    import torch

    from genmodels.checkpoints import load_checkpoint
    from genmodels.corruption import corrupt
    from genmodels.data import load_dataset
    from genmodels.lessons.denoising import PCA
    from genmodels.lessons.latent import reconstruct
    from genmodels.metrics.image_quality import psnr, ssim

    loaded = [load_checkpoint(path) for path in args.checkpoints]
    models = {checkpoint.info.name: checkpoint.model for checkpoint in loaded}
    data = load_dataset(args.dataset)
    pca = PCA.fit(data.train_x, args.pca) if args.pca else None
    for level in args.levels:
        noisy = corrupt(data.test_x, args.noise, level, torch.Generator().manual_seed(args.seed))
        outputs = {"noisy input": noisy} | ({f"PCA-{args.pca}": pca.reconstruct(noisy)} if pca else {})
        outputs |= {name: reconstruct(model, noisy) for name, model in models.items()}
        row = {name: {"psnr": round(psnr(out, data.test_x).mean().item(), 2),
                      "ssim": round(ssim(out, data.test_x).mean().item(), 3)} for name, out in outputs.items()}
        print(json.dumps({"noise": args.noise, "level": level, **row}))
    return 0


def cmd_bench(args) -> int:
    """Print each result line as it is measured, then all of them as one JSON object."""
    from benchmarks.bench import machine_info

    if args.worker:
        from benchmarks.bench import worker

        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    if args.style:
        return cli_style.cmd_style_bench(args)
    machine = machine_info()
    if args.diffusion:
        from benchmarks.diffusion_bench import format_row as format_diffusion_row
        from benchmarks.diffusion_bench import run_diffusion_bench

        rows = []
        for row in run_diffusion_bench(quick=args.quick, device=args.device, samples=args.samples):
            print(format_diffusion_row(row), flush=True)
            rows.append({"kind": row.kind, "case": row.case, **row.values})
        print(json.dumps({"diffusion": rows, "machine": machine}))
        return 0
    if args.app:
        from benchmarks.app_bench import format_result, run_app_bench

        results = []
        for result in run_app_bench(chromium=args.chromium, quick=args.quick):
            print(format_result(result), flush=True)
            results.append(result)
        print(json.dumps({"app": results, "machine": machine}))
        return 0
    from benchmarks.bench import format_row, run_bench

    rows = []
    for row in run_bench(quick=args.quick, device=args.device, compile=args.compile,
                         cases=tuple(args.cases) if args.cases else None, threads=args.threads):
        print(format_row(row), flush=True)
        rows.append({"kind": row.kind, "case": row.case, "device": row.device, **row.values})
    print(json.dumps({"rows": rows, "machine": machine}))
    return 0
