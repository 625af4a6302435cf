"""Build POPE question sets from COCO-format instance annotations.

POPE (Li et al., 2023) polls a model with "Is there a <object> in the image?". For each sampled
image it asks about ``n_per_image`` objects that are there (label yes) and, after each, about one
that is not (label no), so that labels alternate yes, no, yes, no as in the published files. The
three splits differ only in how the absent object is chosen:

``random``
    uniformly among the categories not in the image;
``popular``
    the most frequent category (by number of images containing it) not in the image;
``adversarial``
    the category that co-occurs most often with the positive object just asked about, not in
    the image.

Following the original code (RUCAIBox/POPE ``utils.py``), frequencies and co-occurrences are
counted over the sampled images, the candidates are the categories seen in them (falling back to
every category of the annotation file when none is left), the positive objects are the image's
first ``n_per_image`` categories in annotation order, no object is asked twice about one image,
and "a" becomes "an" before a vowel. Ties are broken by name, and everything random draws from one
``random.Random(seed)``, so a build is deterministic, and the three splits share the same images.
Images qualify when they show at least ``min_objects`` distinct categories.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError, InputError, MissingExtraError

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("random", "popular", "adversarial")
TEMPLATE = "Is there {article} {object} in the image?"

ImageObjects = tuple[str, Sequence[str]]  # (image file name, categories in annotation order)


def question_text(obj: str) -> str:
    """``Is there a <obj> in the image?`` with "an" before a vowel."""
    article = "an" if obj[:1].lower() in "aeiou" and obj[:1] else "a"
    return TEMPLATE.format(article=article, object=obj)


def load_coco_objects(annotations_path: str | Path) -> tuple[list[ImageObjects], list[str]]:
    """Read a COCO instance annotation file with pycocotools.

    Returns every image as ``(file_name, [category names, first appearance order, no repeats])``
    sorted by image id, and all category names of the file sorted by category id.
    """
    try:
        from pycocotools.coco import COCO
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MissingExtraError("building POPE questions", "coco", "pycocotools") from exc
    path = Path(annotations_path)
    if not path.is_file():
        raise ConfigError(f"COCO annotation file not found: {path}")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            coco = COCO(str(path))
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise InputError(f"{path}: expected a COCO instance annotation file with 'images', "
                         f"'annotations' and 'categories', got an error: {exc!r}") from exc
    names = {cid: cat["name"] for cid, cat in coco.cats.items()}
    images: list[ImageObjects] = []
    for img_id in sorted(coco.imgs):
        info = coco.imgs[img_id]
        seen: dict[str, None] = {}
        for ann in coco.imgToAnns.get(img_id, []):
            name = names.get(ann["category_id"])
            if name is not None:
                seen.setdefault(name, None)
        images.append((info.get("file_name", str(img_id)), list(seen)))
    return images, [names[c] for c in sorted(names)]


def _ranked(counter: Counter) -> list[str]:
    return [k for k, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def _sample_images(images: Sequence[ImageObjects], n_images: int, min_objects: int,
                   rng: random.Random) -> list[tuple[str, list[str]]]:
    """``n_images`` of the images showing at least ``min_objects`` distinct objects (each with
    its objects, duplicates dropped, in order), drawn with ``rng``."""
    eligible = [(name, list(dict.fromkeys(objs))) for name, objs in images
                if len(set(objs)) >= min_objects]
    if not eligible:
        raise InputError(f"no image shows at least {min_objects} distinct object categories "
                         f"({len(images)} images read); lower min_objects")
    if n_images > len(eligible):
        log.warning("POPE build: asked for %d images but only %d show at least %d categories; "
                    "using %d", n_images, len(eligible), min_objects, len(eligible))
        n_images = len(eligible)
    return rng.sample(eligible, n_images)


def _rankings(sample: Sequence[tuple[str, list[str]]]
              ) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The sample's object vocabulary (sorted), its objects by frequency (``popular``
    negatives) and, per object, the objects seen with it by co-occurrence (``adversarial``)."""
    frequency: Counter = Counter()
    co_occurrence: dict[str, Counter] = {}
    for _, objs in sample:
        frequency.update(objs)
        for a in objs:
            row = co_occurrence.setdefault(a, Counter())
            row.update(b for b in objs if b != a)
    return (sorted(frequency), _ranked(frequency),
            {a: _ranked(row) for a, row in co_occurrence.items()})


def questions_from_objects(images: Sequence[ImageObjects], split: str, n_images: int = 500,
                           n_per_image: int = 3, seed: int = 0, min_objects: int = 3,
                           categories: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """POPE questions from images with their ground-truth objects (see the module docstring).

    Args:
        images: ``(image file name, object names)`` pairs; the order of names matters (the first
            ``n_per_image`` become the yes questions).
        split: ``random``, ``popular`` or ``adversarial``.
        n_images: Images to sample (clamped, with a warning, to the number that qualify).
        n_per_image: Yes questions per image, each followed by one no question.
        seed: Seed of the image sample and the random negatives.
        min_objects: Least number of distinct objects an image must show to qualify.
        categories: Fallback vocabulary of negatives when the sampled images leave none.
    """
    if split not in SPLITS:
        raise ConfigError(f"expected a POPE split among {', '.join(SPLITS)}, got {split!r}")
    if n_images < 1 or n_per_image < 1 or min_objects < 1:
        raise ConfigError(f"expected n_images, n_per_image and min_objects >= 1, got "
                          f"{n_images}, {n_per_image}, {min_objects}")
    rng = random.Random(seed)
    sample = _sample_images(images, n_images, min_objects, rng)
    vocabulary, popular, adversarial = _rankings(sample)
    fallback = sorted(set(categories or ()) | set(vocabulary))

    questions: list[dict[str, Any]] = []
    short_images = missing_negatives = 0

    def ask(image: str, obj: str, label: str) -> None:
        questions.append({"question_id": len(questions) + 1, "image": image,
                          "text": question_text(obj), "label": label})

    for image, objs in sample:
        present = set(objs)
        asked: set[str] = set()
        positives = objs[:n_per_image]
        if len(positives) < n_per_image:
            short_images += 1
        for pos in positives:
            asked.add(pos)
            ask(image, pos, "yes")
            if split == "popular":
                ranking = popular
            elif split == "adversarial":
                ranking = adversarial.get(pos, [])
            else:
                ranking = []
            negative = next((o for o in ranking if o not in present and o not in asked), None)
            if negative is None:
                pool = [o for o in vocabulary if o not in present and o not in asked] or \
                       [o for o in fallback if o not in present and o not in asked]
                negative = rng.choice(pool) if pool else None
            if negative is None:
                missing_negatives += 1
                continue
            asked.add(negative)
            ask(image, negative, "no")
    if short_images:
        log.warning("POPE build: %d images show fewer than %d objects; they get fewer questions",
                    short_images, n_per_image)
    if missing_negatives:
        log.warning("POPE build: no absent category left for %d yes questions; their no "
                    "question is missing (labels no longer alternate there)", missing_negatives)
    return questions


def build_questions(annotations_path: str | Path, split: str, n_images: int = 500,
                    n_per_image: int = 3, seed: int = 0, min_objects: int = 3
                    ) -> list[dict[str, Any]]:
    """POPE questions (``question_id``, ``image``, ``text``, ``label``) for one split, from a
    COCO-format instance annotation file. Deterministic for a given seed."""
    images, categories = load_coco_objects(annotations_path)
    return questions_from_objects(images, split, n_images=n_images, n_per_image=n_per_image,
                                  seed=seed, min_objects=min_objects, categories=categories)


def write_questions(questions: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write questions as JSON lines (the published files' format, ``.json`` suffix or not)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for q in questions:
            fh.write(json.dumps(q) + "\n")
    return path


def build_command(annotations: str | Path, out_dir: str | Path,
                  splits: str | Sequence[str] = SPLITS, n_images: int = 500,
                  n_per_image: int = 3, seed: int = 0, *, min_objects: int = 3,
                  prefix: str = "coco") -> list[Path]:
    """Build the given splits into ``out_dir/<prefix>_pope_<split>.json``; return the paths.

    The annotation file is read once and every split uses the same sampled images.
    """
    if isinstance(splits, str):
        splits = [s.strip() for s in splits.split(",") if s.strip()]
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ConfigError(f"expected POPE splits among {', '.join(SPLITS)}, got "
                          f"{', '.join(splits) or 'none'}")
    images, categories = load_coco_objects(annotations)
    out = Path(out_dir)
    paths = []
    for split in dict.fromkeys(splits):
        questions = questions_from_objects(images, split, n_images=n_images,
                                           n_per_image=n_per_image, seed=seed,
                                           min_objects=min_objects, categories=categories)
        paths.append(write_questions(questions, out / f"{prefix}_pope_{split}.json"))
        log.info("POPE build: %d %s questions -> %s", len(questions), split, paths[-1])
    return paths
