"""``halluscope chair ...``: build CHAIR ground truth once, and look at how a caption is read.

    halluscope chair gt -a instances_train2014.json -a captions_train2014.json ... -o gt.json
    halluscope chair words "Two hot dogs and a bus." --variant original

``gt`` writes a ground-truth objects file (``{"imid_to_objects": {...}}``) that ``--gt-objects``
reads in well under a second; the build itself is cached too (see ``chair_gt``). ``--variant
objhal`` reads the reference captions as Object HalBench's scorer does
(:mod:`halluscope.metrics.objhal_gt`), for ``--metric objhal``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from halluscope.cli.common import EXIT_USAGE, user_os_error
from halluscope.cli.helpformat import PanelledCommand
from halluscope.errors import HalluscopeError

chair_app = typer.Typer(help="CHAIR ground truth, and what CHAIR reads in a caption.",
                        no_args_is_help=True)


@chair_app.command("gt", cls=PanelledCommand)
def build_gt(
    coco_annotations: Annotated[list[Path], typer.Option(
        "--coco-annotations", "-a", exists=True, dir_okay=False, metavar="FILE",
        help="COCO instance and caption annotation files (repeat the option).")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE",
                                      help="Ground-truth objects file.")],
    variant: Annotated[str, typer.Option(
        metavar="NAME",
        help="Parser for the reference captions: original or refined, refined by default as "
        "an audit's; build with the variant the audit scores (--variant original for the "
        "original CHAIR): an audit of the other variant warns and records this file's in its "
        "run sheet. objhal: as Object HalBench's scorer reads them (WordNet lemmas, its own "
        "synonym list), for --metric objhal.")] = "refined",
    cache: Annotated[bool, typer.Option(help="Read and write the build cache.")] = True,
) -> None:
    """Build image id -> COCO categories from COCO annotations, as CHAIR does."""
    from halluscope.metrics.chair import parser_for
    from halluscope.metrics.chair_gt import load_coco_ground_truth
    if variant not in ("original", "refined", "objhal"):
        typer.echo(f"error: expected --variant original, refined or objhal, got {variant!r}",
                   err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        if variant == "objhal":
            from halluscope.metrics.objhal_gt import ObjhalCaptionParser
            parser = ObjhalCaptionParser()
        else:
            parser = parser_for(variant)
        gt = load_coco_ground_truth(coco_annotations, parser, use_cache=cache)
    except HalluscopeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    payload = {"source": {"variant": variant, **gt.describe()},
               "imid_to_objects": {str(k): sorted(v) for k, v in sorted(gt.items())}}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload), encoding="utf-8")
    except OSError as exc:      # a traceback (exit 3) for an --out in a missing folder
        if not user_os_error(exc):
            raise
        typer.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(f"{out}: {len(gt)} images")


@chair_app.command("words", cls=PanelledCommand)
def show_words(
    caption: Annotated[str, typer.Argument(help="A caption.", metavar="CAPTION")],
    variant: Annotated[str, typer.Option(help="original or refined.",
                                                   metavar="NAME")] = "refined",
) -> None:
    """Print the object mentions CHAIR finds in a caption (word, category, token, span)."""
    from halluscope.metrics.chair import parser_for
    if variant not in ("original", "refined"):
        typer.echo(f"error: expected --variant original or refined, got {variant!r}", err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        parsed = parser_for(variant).parse(caption)
    except HalluscopeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    for m in parsed.mentions:
        where = caption[m.span[0]:m.span[1]] if m.span else "?"
        typer.echo(f"{m.word}\t{m.node}\ttoken {m.index}\t{where!r}")
    typer.echo(f"{len(parsed.mentions)} mentions, {parsed.n_tokens} tokens")


def register(app: typer.Typer) -> None:
    """Add the ``chair`` group to ``app``."""
    app.add_typer(chair_app, name="chair")
