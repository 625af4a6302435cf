"""``halluscope pope build``: POPE question sets from COCO annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from halluscope.cli.common import EXIT_USAGE, print_error
from halluscope.cli.helpformat import PanelledCommand
from halluscope.cli.options import at_least
from halluscope.errors import HalluscopeError

pope_app = typer.Typer(help="POPE question sets.", no_args_is_help=True)


@pope_app.command("build", cls=PanelledCommand)
def pope_build(
    annotations: Annotated[Path, typer.Option(
        help="COCO-format instance annotation file.", metavar="FILE")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder for coco_pope_<split>.json.", metavar="DIR")],
    split: Annotated[Optional[list[str]], typer.Option(
        help="random, popular, adversarial (comma-separated or repeated; default all three).",
        metavar="SPLIT")] = None,
    # at_least(1): a 0 was refused as "expected n_images, n_per_image and min_objects >= 1",
    # names no flag has, then as "Input should be greater than or equal to 1", without the 0
    images: Annotated[int, typer.Option(min=1, parser=at_least(1), metavar="N",
                                        help="Images to sample.")] = 500,
    per_image: Annotated[int, typer.Option(
        min=1, parser=at_least(1), metavar="N",
        help="Yes (and as many no) questions per image; only images with at least "
        "this many object categories are sampled, as in the original.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.", metavar="N")] = 0,
) -> None:
    """Build POPE question sets (random / popular / adversarial) from COCO annotations."""
    from halluscope.metrics.pope import build_command
    try:
        paths = build_command(annotations, out, split or ["random", "popular", "adversarial"],
                              images, per_image, seed)
    except HalluscopeError as exc:
        print_error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    for p in paths:
        typer.echo(str(p))


def register(app: typer.Typer) -> None:
    """Add the ``pope`` group to ``app``."""
    app.add_typer(pope_app, name="pope")
