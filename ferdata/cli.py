"""The `ferdata` command line: parses arguments, calls the library, prints results. No logic lives here.

Each command imports the library it runs when it runs: numpy, pyarrow, OpenCV, scikit-learn and torch stay out
of `ferdata --help` and of every other command's start.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ferdata.errors import FerdataError, exit_on_error

if TYPE_CHECKING:
    from ferdata.params import Params

app = typer.Typer(
    help="Leak-free FER data preparation: ingest, audit, balance, augment and train.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say "[default: ...]": plain text, not Rich markup
)
console = Console(width=max(Console().width, 110))  # tables stay readable in CI logs

ParamsOption = Annotated[
    Path | None, typer.Option("--params", help="params.yaml to take defaults from [default: ./params.yaml if present]")
]
SeedOption = Annotated[int | None, typer.Option(help="random seed [default: params.yaml seed]")]
ForceOption = Annotated[
    bool, typer.Option("--force", help="replace an existing output that ferdata wrote, even of another kind")
]
ForceFileOption = Annotated[bool, typer.Option("--force", help="replace an existing file at OUT")]


def _params(path: Path | None) -> "Params":
    from ferdata.config import load_or_default
    from ferdata.params import Params

    return load_or_default(Params, path)


def _override(section, **values):
    """A params section with the options the user gave (not None) put over it, validated."""
    from pydantic import ValidationError

    from ferdata.config import describe

    try:
        return type(section).model_validate(section.model_dump() | {k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise FerdataError(f"option {describe(exc)}") from None


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="CSV file to write (FER2013 format: emotion,pixels,Usage)")],
    rows: Annotated[int | None, typer.Option(help="rows to draw [default: params synth.rows]")] = None,
    test_rows: Annotated[
        int | None, typer.Option(help="rows of PublicTest and of PrivateTest each [default: params synth.test_rows]")
    ] = None,
    seed: SeedOption = None,
    params: ParamsOption = None,
    force: ForceFileOption = False,
) -> None:
    """Write the embedded default: synthetic 48x48 faces as a FER2013 CSV."""
    from ferdata.outputs import claim_file
    from ferdata.sources.fer2013_csv import write_fer2013_csv
    from ferdata.synth import synthesize

    p = _params(params)
    sizes = _override(p.synth, rows=rows, test_rows=test_rows)
    claim_file(out, force=force)
    images, labels, usage = synthesize(sizes.rows, p.seed if seed is None else seed, sizes.test_rows)
    write_fer2013_csv(out, images, labels, usage)
    console.print(f"wrote {sizes.rows} synthetic faces to {out}")


@app.command()
def ingest(
    path: Annotated[
        Path, typer.Argument(help="FER2013 CSV (.csv, .csv.gz, .zip) or folders, or an ExpW, AffectNet or RAF-DB root")
    ],
    out: Annotated[Path, typer.Option(help="dataset directory to write")],
    source: Annotated[
        str | None, typer.Option(help="fer2013, expw, affectnet or rafdb [default: detected from PATH]")
    ] = None,
    min_face_confidence: Annotated[float | None, typer.Option(help="ExpW: drop faces below this confidence")] = None,
    ferplus: Annotated[Path | None, typer.Option(help="FER+ fer2013new.csv: relabel by majority vote")] = None,
    dedupe: Annotated[
        bool | None, typer.Option("--dedupe/--no-dedupe", help="drop train images also in val/test")
    ] = None,
    skip_bad: Annotated[
        bool | None, typer.Option("--skip-bad/--strict", help="skip bad rows (counted) or fail")
    ] = None,
    swap_test_roles: Annotated[
        bool | None,
        typer.Option("--swap-test-roles/--no-swap-test-roles", help="PublicTest as val, PrivateTest as test"),
    ] = None,
    val_fraction: Annotated[float | None, typer.Option(help="share of train carved into val when none exists")] = None,
    test_fraction: Annotated[
        float | None, typer.Option(help="share of train carved into test when none exists")
    ] = None,
    seed: SeedOption = None,
    params: ParamsOption = None,
    force: ForceOption = False,
) -> None:
    """Read a source and write train/val/test.npz and card.json, split first, atomically."""
    from ferdata.ingest import ingest as ingest_dataset

    p = _params(params)
    section = _override(
        p.ingest,
        dedupe=dedupe,
        skip_bad=skip_bad,
        swap_test_roles=swap_test_roles,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        format=source,
        min_face_confidence=min_face_confidence,
        ferplus=str(ferplus) if ferplus else None,
    )
    card = ingest_dataset(path, out, section, p.seed if seed is None else seed, force)
    counts = ", ".join(f"{name} {sum(c)}" for name, c in card["counts"].items())
    console.print(f"wrote {out}: {counts}")
    for reason, count in card.get("skipped", {}).items():
        console.print(f"[yellow]skipped {count} rows: {reason}[/yellow]")
    if card["dedupe"]:
        console.print(f"removed {card['dedupe']['removed_from_train']} train images also in val/test")


@app.command()
def build(
    variant: Annotated[str | None, typer.Option(help="variant to build (see --list)")] = None,
    data: Annotated[Path | None, typer.Option(help="ingested dataset [default: params build.data]")] = None,
    out: Annotated[Path | None, typer.Option(help="output directory [default: params build.out/VARIANT]")] = None,
    list_variants: Annotated[bool, typer.Option("--list", help="list the variants and exit")] = False,
    seed: SeedOption = None,
    params: ParamsOption = None,
    force: ForceOption = False,
) -> None:
    """Build a balanced/augmented variant of the training split (val/test copied unchanged)."""
    from ferdata.build import build_variant
    from ferdata.variants.registry import STEPS

    p = _params(params)
    if list_variants:
        for name, spec in p.build.variants.items():
            console.print(f"{name:16} {' + '.join(spec.steps):22} {'; '.join(STEPS[n].summary() for n in spec.steps)}")
            for section, values in spec.model_dump(exclude_unset=True, exclude={"steps"}).items():
                console.print(escape(f"{'':16} {section}: {values}"))
        console.print(_steps_table())
        return
    if variant is None:
        raise FerdataError("give --variant NAME (or --list to see them)")
    target = out or Path(p.build.out) / variant
    card, seconds = build_variant(
        variant,
        data or Path(p.build.data),
        target,
        p.build,
        p.seed if seed is None else seed,
        force,
        during=lambda step: console.status(f"{variant}: {step}"),  # a spinner on a terminal, nothing in a log
    )
    steps = ", ".join(f"{step} {t:.1f} s" for step, t in seconds.items())
    console.print(f"wrote {target}: train {sum(card['counts_before'])} -> {sum(card['counts_after'])} rows ({steps})")
    for warning in card["warnings"]:
        console.print(f"[bold red]WARNING:[/bold red] {escape(warning)}")


def _steps_table() -> Table:
    """Every step a variant can list, from the step classes: kind, what it does, its params and defaults."""
    from ferdata.variants.registry import STEPS

    table = Table(title="steps (build.variants.<name>.steps; params under build.variants.<name>.<step>)")
    for column in ("step", "kind", "what it does", "params [default]"):
        table.add_column(column)
    for name, step in STEPS.items():
        if step.parts:
            params = "those of " + ", ".join(part.name for part in step.parts)
        else:
            params = (
                ", ".join(f"{key} [{value}]" for key, value in step.Params().model_dump().items())
                if step.Params
                else ""
            )
        table.add_row(name, step.kind, step.summary(), escape(params))
    return table


@app.command()
def audit(
    directory: Annotated[Path, typer.Argument(help="ferdata dataset directory")],
    out: Annotated[Path | None, typer.Option(help="report to write [default: DIRECTORY/audit.json]")] = None,
    params: ParamsOption = None,
    force: ForceFileOption = False,
) -> None:
    """Find exact and near duplicates within and across splits, conflicting labels, blank images."""
    from ferdata.audit import audit_dataset
    from ferdata.card import write_json
    from ferdata.outputs import claim_file
    from ferdata.store import load_dataset

    target = out or directory / "audit.json"
    dataset = load_dataset(directory)
    claim_file(target, [directory / f"{name}.npz" for name in dataset], force)
    report = audit_dataset(dataset, _params(params).audit)
    write_json(target, report)
    table = Table(title=f"audit of {directory}")
    table.add_column("finding")
    table.add_column("count", justify="right")
    for key, value in report["summary"].items():
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        table.add_row(key.replace("_", " "), shown)
    console.print(table)


@app.command()
def info(
    directory: Annotated[Path, typer.Argument(help="ferdata dataset directory")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Class counts per split, with the imbalance ratio (largest class / smallest)."""
    from ferdata.info import class_count_table
    from ferdata.labels import CLASS_NAMES
    from ferdata.store import load_dataset

    summary = class_count_table(load_dataset(directory))
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    table = Table(title=f"class counts of {directory}")
    table.add_column("split")
    for name in CLASS_NAMES:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right")
    table.add_column("imbalance", justify="right")
    for split, row in summary.items():
        ratio = row["imbalance_ratio"]
        cells = [str(row["counts"][n]) for n in CLASS_NAMES]
        table.add_row(split, *cells, str(row["total"]), "-" if ratio is None else f"{ratio:.1f}x")
    console.print(table)


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="ferdata dataset directory (ingested or a built variant)")],
    to: Annotated[str, typer.Option("--to", help="imagefolder, csv (FER2013's format) or hf (Hugging Face datasets)")],
    out: Annotated[Path, typer.Option(help="folder (imagefolder, hf) or file (csv) to write")],
    force: ForceOption = False,
) -> None:
    """Write a dataset for other training code: PNG class folders, a FER2013 CSV, or a Hugging Face dataset."""
    from ferdata.export import export as export_dataset

    rows = export_dataset(directory, to, out, force)
    console.print(f"wrote {out} ({to}): " + ", ".join(f"{name} {count}" for name, count in rows.items()))


ModelOption = Annotated[Path, typer.Option("--model", help="a ferdata checkpoint (models/VARIANT/best.pt)")]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1 ...")]
TenCropOption = Annotated[
    bool | None, typer.Option("--ten-crop/--no-ten-crop", help="average ten crops [default: as trained]")
]
DetectSizeOption = Annotated[
    int | None,
    typer.Option(help="shrink frames to this longer side before finding faces: faster, misses small faces"),
]
DetectOption = Annotated[
    bool, typer.Option("--detect/--no-detect", help="find faces (Haar cascade), or take each photo as one face")
]


@app.command()
def predict(
    target: Annotated[Path, typer.Argument(help="a photo, a video, or a folder of them")],
    model: ModelOption,
    out: Annotated[Path, typer.Option(help="folder for predictions.json and the annotated copies")] = Path(
        "predictions"
    ),
    detect: DetectOption = True,
    detect_size: DetectSizeOption = None,
    ten_crop: TenCropOption = None,
    device: DeviceOption = "auto",
    force: ForceOption = False,
) -> None:
    """Find the faces in photos or videos and predict their expressions: a table, JSON, annotated copies."""
    from apps.faces import FaceDetector
    from apps.inference import FacePredictor
    from apps.predict import predict_files

    predictor = FacePredictor(model, FaceDetector(max_side=detect_size) if detect else None, device, ten_crop)
    table = Table(title=f"expressions ({model})")
    for column in ("file", "face", "box (x, y, w, h)", "top-3"):
        table.add_column(column)

    def show(entry: dict, seconds: float) -> None:
        if entry["kind"] == "video":
            frames = entry["frames"]
            faces = sum(len(f["faces"]) for f in frames)
            rate = f"{len(frames) / seconds:.1f} frames/s" if seconds > 0 else ""
            table.add_row(entry["file"], f"{faces} in {len(frames)} frames", "", rate)
            return
        if not entry["faces"]:
            table.add_row(entry["file"], "no face found", "", "")
        for i, face in enumerate(entry["faces"], 1):
            box = face["box"]
            top3 = ", ".join(f"{t['label']} {t['probability']:.0%}" for t in face["top3"])
            table.add_row(entry["file"], str(i), f"{box['x']}, {box['y']}, {box['width']}, {box['height']}", top3)

    predict_files(predictor, target, out, show, force)
    console.print(table)
    console.print(f"wrote {out / 'predictions.json'} and the annotated copies")


@app.command()
def serve(
    model: ModelOption,
    host: Annotated[str, typer.Option(help="address to listen on (another than 127.0.0.1 exposes the page)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    max_upload_mb: Annotated[float, typer.Option(help="largest photo accepted, in MB")] = 10.0,
    detect_size: DetectSizeOption = None,
    ten_crop: TenCropOption = None,
    device: DeviceOption = "auto",
) -> None:
    """A local web page: upload a photo or use the webcam; see faces, expressions and probabilities."""
    from apps.faces import FaceDetector
    from apps.inference import FacePredictor
    from apps.serve import serve as run_server

    predictor = FacePredictor(model, FaceDetector(max_side=detect_size), device, ten_crop)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[bold red]WARNING:[/bold red] listening on {host}: other machines can reach this page")
    console.print(f"serving {model} at http://{'[' + host + ']' if ':' in host else host}:{port}/ (Ctrl+C stops)")
    run_server(predictor, host, port, max_upload_mb)


def _version(value: bool) -> None:
    if value:
        from ferdata import __version__

        print(f"ferdata {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Leak-free FER data preparation: ingest, audit, balance, augment and train."""


def main() -> None:
    with exit_on_error("ferdata"):
        app()
