"""`ddx data ...`: fetch and check the public datasets.

The fetcher (httpx, tqdm) is imported inside the commands, so ``ddx --help`` stays fast.
"""

from __future__ import annotations

import typer

from agent.cli import finetune_cmd, rarebench_cmd
from agent.cli.common import settings_from

app = typer.Typer(
    help=(
        "Fetch and check the public datasets. They live in the data directory: "
        "--data-dir, else $DDX_DATA_DIR, else ./data (see data/README.md)."
    ),
    no_args_is_help=True,
)


@app.command("fetch")
def fetch(
    ctx: typer.Context,
    dataset: str = typer.Argument(
        ..., help="Dataset to fetch. Known: ddxplus.", show_default=False
    ),
    kb_only: bool = typer.Option(
        False,
        "--kb-only",
        help="Only the knowledge base (release_evidences.json, release_conditions.json): "
        "all that `ddx chat` needs, a few hundred KB instead of the patients zips.",
    ),
    skip_existing: bool = typer.Option(
        False,
        "--skip-existing",
        help="Keep files already there with the published size and MD5 "
        "(for a patients zip: whose CSV is already there) instead of downloading them again.",
    ),
    if_missing: bool = typer.Option(
        False,
        "--if-missing",
        help="Do nothing, without any network access, when every wanted file is already there.",
    ),
) -> None:
    """Download a dataset's official release into <data-dir>/<dataset>/.

    ddxplus: figshare article 20043374 (CC-BY-4.0), listed through the figshare API
    ($DDX_FIGSHARE_API, default https://api.figshare.com/v2). Every file is checked against its
    published MD5; the patients zips are unpacked to CSV. Offline? Copy the files by hand
    instead (see data/README.md).
    """
    from data.fetch import fetch_ddxplus, require_known

    require_known(dataset)
    settings = settings_from(ctx)
    what = "knowledge base" if kb_only else "release"
    typer.echo(f"DDXPlus {what} (source: {settings.figshare_api})", err=True)
    report = fetch_ddxplus(
        settings.data_dir,
        api_base=settings.figshare_api,
        kb_only=kb_only,
        skip_existing=skip_existing,
        if_missing=if_missing,
    )
    for item in report.files:
        typer.echo(f"{item.action:<10} {item.path}")
    typer.echo(f"{len(report.files)} files of {dataset} in {report.folder}", err=True)


app.command("rarebench-sim")(rarebench_cmd.rarebench_sim)
app.command("dialogues")(finetune_cmd.dialogues)


@app.command("check")
def check(
    ctx: typer.Context,
    dataset: str = typer.Argument("ddxplus", help="Dataset to check. Known: ddxplus."),
) -> None:
    """Say which files of a dataset are present in the data directory.

    Exit code 0 when the knowledge-base files (needed by `ddx chat`) are present, 1 otherwise;
    the patients CSVs are needed only for benchmarks.
    """
    from data.fetch import dataset_status

    settings = settings_from(ctx)
    statuses = dataset_status(settings.data_dir, dataset)
    for status in statuses:
        state = "present" if status.present else "missing"
        note = "" if status.required else "  (benchmarks only)"
        typer.echo(f"{state:<8} {status.path}{note}")
    if not all(status.present for status in statuses if status.required):
        typer.echo(
            f"The {dataset} knowledge base is incomplete: run `ddx data fetch {dataset} "
            "--kb-only`, or point --data-dir / DDX_DATA_DIR at a folder that has it.",
            err=True,
        )
        raise typer.Exit(code=1)
