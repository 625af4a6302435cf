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
Images qualify when they show at least ``min_objects`` distinct categories (by default
``n_per_image``, as the original keeps only images with at least ``sample_num`` objects).
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError, InputError
from halluscope.textfiles import read_json_file

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("random", "popular", "adversarial")
TEMPLATE = "Is there {article} {object} in the image?"

ImageObjects = tuple[str, Sequence[str]]  # (image file name, categories in annotation order)


def question_text(obj: str) -> str:
    """``Is there a <obj> in the image?`` with "an" before a vowel."""
    article = "an" if obj[:1].lower() in "aeiou" and obj[:1] else "a"
    return TEMPLATE.format(article=article, object=obj)


def _check_instances(data: Any, path: Path) -> None:
    """A usage error naming the first entry of ``data`` that is not a COCO instance file's:
    pycocotools' own checks (:func:`check_coco`), plus what POPE reads: a category name that is
    text, a ``category_id`` in every annotation (a captions file has none), ids of one kind."""
    from halluscope.evidence.annotations import check_coco
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), list) for k in ("images", "annotations", "categories")):
        got = (f"keys {', '.join(map(str, data))[:80]}" if isinstance(data, dict)
               else f"a JSON {type(data).__name__}")
        raise InputError(f"{path}: expected a COCO instance annotation file with lists "
                         f"'images', 'annotations' and 'categories', got {got}")
    try:
        check_coco(data, path)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    for i, cat in enumerate(data["categories"]):
        if not isinstance(cat["name"], str) or not cat["name"].strip():
            raise InputError(f"{path}: categories[{i}].name: expected a category name, got "
                             f"{cat['name']!r:.60}")
    for i, ann in enumerate(data["annotations"]):
        if "category_id" not in ann:
            raise InputError(f"{path}: annotations[{i}]: expected an instance annotation with "
                             f"'category_id' (a captions file has none), got {ann!r:.80}")
    for i, img in enumerate(data["images"]):
        name = img.get("file_name")
        if name is not None and (not isinstance(name, str) or not name):
            raise InputError(f"{path}: images[{i}].file_name: expected a file name, got "
                             f"{name!r:.60}")
    kinds = {type(img["id"]) is str for img in data["images"]}
    if len(kinds) > 1:   # pycocotools' sorted() of the ids ended in a TypeError
        raise InputError(f"{path}: images: expected ids of one kind, got numbers and strings")
    for key in ("images", "categories"):
        if not data[key]:
            raise InputError(f"{path}: expected a COCO instance annotation file, got no {key}")


def load_coco_objects(annotations_path: str | Path) -> tuple[list[ImageObjects], list[str]]:
    """Read a COCO instance annotation file (checked entry by entry: a bad one is an
    :class:`InputError` naming the file and the entry).

    Returns every image as ``(file_name, [category names, first appearance order, no repeats])``
    sorted by image id, and all category names of the file sorted by category id: what
    pycocotools' index gives (annotations in file order per image).
    """
    path = Path(annotations_path)
    if path.is_dir():       # it was "not found", sending the user after a typo
        raise ConfigError(f"{path}: expected a COCO annotation file, got a folder")
    if not path.is_file():
        raise ConfigError(f"COCO annotation file not found: {path}")
    data = read_json_file(path, "a COCO instances file")
    _check_instances(data, path)
    names = {cat["id"]: cat["name"] for cat in data["categories"]}
    files = {img["id"]: img.get("file_name") or str(img["id"]) for img in data["images"]}
    seen: dict[Any, dict[str, None]] = {img_id: {} for img_id in files}
    for ann in data["annotations"]:
        seen[ann["image_id"]].setdefault(names[ann["category_id"]], None)
    return ([(files[i], list(seen[i])) for i in sorted(files)],
            [names[c] for c in sorted(names, key=lambda c: (isinstance(c, str), c))])


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
                         f"({len(images)} images read); ask fewer questions per image "
                         f"(--per-image)")
    return rng.sample(eligible, _images_to_use(n_images, len(eligible), min_objects))


def _images_to_use(n_images: int, n_eligible: int, min_objects: int) -> int:
    """``n_images``, or fewer (with a warning) when fewer images qualify."""
    if n_images > n_eligible:
        log.warning("POPE build: asked for %d images but only %d show at least %d categories; "
                    "using %d", n_images, n_eligible, min_objects, n_eligible)
    return min(n_images, n_eligible)


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
                           n_per_image: int = 3, seed: int = 0, min_objects: int | None = None,
                           categories: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """POPE questions from images with their ground-truth objects (see the module docstring).

    Args:
        images: ``(image file name, object names)`` pairs; the order of names matters (the first
            ``n_per_image`` become the yes questions).
        split: ``random``, ``popular`` or ``adversarial``.
        n_images: Images to sample (clamped, with a warning, to the number that qualify).
        n_per_image: Yes questions per image, each followed by one no question.
        seed: Seed of the image sample and the random negatives.
        min_objects: Least number of distinct objects an image must show to qualify (default
            ``n_per_image``, as the original, so that every image gets ``n_per_image`` yes
            questions).
        categories: Fallback vocabulary of negatives when the sampled images leave none.
    """
    if min_objects is None:
        min_objects = n_per_image
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
                    n_per_image: int = 3, seed: int = 0, min_objects: int | None = None
                    ) -> list[dict[str, Any]]:
    """POPE questions (``question_id``, ``image``, ``text``, ``label``) for one split, from a
    COCO-format instance annotation file. Deterministic for a given seed."""
    images, categories = load_coco_objects(annotations_path)
    return questions_from_objects(images, split, n_images=n_images, n_per_image=n_per_image,
                                  seed=seed, min_objects=min_objects, categories=categories)


def write_questions(questions: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write questions as JSON lines (the published files' format, ``.json`` suffix or not)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            for q in questions:
                fh.write(json.dumps(q) + "\n")
    except OSError as exc:      # --out names a file, or a folder that cannot be written
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def build_command(annotations: str | Path, out_dir: str | Path,
                  splits: str | Sequence[str] = SPLITS, n_images: int = 500,
                  n_per_image: int = 3, seed: int = 0, *, min_objects: int | None = None,
                  prefix: str = "coco") -> list[Path]:
    """Build the given splits into ``out_dir/<prefix>_pope_<split>.json``; return the paths.

    The annotation file is read once and every split uses the same sampled images.
    """
    # comma-separated or repeated, as --metric takes names: "random,popular" was refused whole
    splits = [s.strip() for part in ([splits] if isinstance(splits, str) else splits)
              for s in str(part).split(",") if s.strip()]
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ConfigError(f"expected POPE splits among {', '.join(SPLITS)}, got "
                          f"{', '.join(map(repr, unknown)) or 'none'}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():   # was "cannot write out/coco_pope_random.json:
        # File exists", after the annotations were read, and blaming a file that is not there
        raise ConfigError(f"{out}: expected a folder for {prefix}_pope_<split>.json, got a file")
    images, categories = load_coco_objects(annotations)
    least = n_per_image if min_objects is None else min_objects
    eligible = sum(1 for _, objs in images if len(set(objs)) >= least)
    if eligible and n_images >= 1 and least >= 1:
        # said once here, not once per split (every split samples the same images)
        n_images = _images_to_use(n_images, eligible, least)
    paths = []
    for split in dict.fromkeys(splits):
        questions = questions_from_objects(images, split, n_images=n_images,
                                           n_per_image=n_per_image, seed=seed,
                                           min_objects=min_objects, categories=categories)
        paths.append(write_questions(questions, out / f"{prefix}_pope_{split}.json"))
        log.info("POPE build: %d %s questions -> %s", len(questions), split, paths[-1])
    return paths
