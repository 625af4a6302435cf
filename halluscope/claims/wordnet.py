"""WordNet for NLTK, installed from Debian's packages rather than downloaded.

NLTK's WordNet reader looks for ``corpora/wordnet/`` under one of ``nltk.data.path``. Nothing is
downloaded at run time here; instead :func:`ensure_wordnet` copies the WordNet 3.0 database files
that Debian's ``wordnet-base`` and ``wordnet-sense-index`` packages install under
``/usr/share/wordnet`` into ``<prefix>/nltk_data/corpora/wordnet/`` (``<prefix>`` is the virtual
environment's ``sys.prefix``). Files are copied, not linked: NLTK 3.10 refuses symbolic links in
its data folders. Debian does not ship ``lexnames`` (the table of the 45 lexicographer files,
documented in WordNet's ``lexnames(5)`` man page) and NLTK needs it, so it is written here.

The function is idempotent: a second call finds the files in place and does nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from halluscope._nltk import import_nltk
from halluscope.errors import ConfigError

log = logging.getLogger(__name__)

#: Where Debian's wordnet-base / wordnet-sense-index put the database.
DEBIAN_DIRS: tuple[Path, ...] = (Path("/usr/share/wordnet"), Path("/usr/share/wordnet/dict"))

#: The database files NLTK's reader opens (``index.sense`` serves lemma keys).
REQUIRED = ("data.noun", "data.verb", "data.adj", "data.adv",
            "index.noun", "index.verb", "index.adj", "index.adv",
            "noun.exc", "verb.exc", "adj.exc", "adv.exc")
OPTIONAL = ("index.sense", "cntlist.rev", "cntlist", "sentidx.vrb", "sents.vrb", "frames.vrb")

_LEXNAMES = (
    "adj.all 3", "adj.pert 3", "adv.all 4", "noun.Tops 1", "noun.act 1", "noun.animal 1",
    "noun.artifact 1", "noun.attribute 1", "noun.body 1", "noun.cognition 1",
    "noun.communication 1", "noun.event 1", "noun.feeling 1", "noun.food 1", "noun.group 1",
    "noun.location 1", "noun.motive 1", "noun.object 1", "noun.person 1", "noun.phenomenon 1",
    "noun.plant 1", "noun.possession 1", "noun.process 1", "noun.quantity 1", "noun.relation 1",
    "noun.shape 1", "noun.state 1", "noun.substance 1", "noun.time 1", "verb.body 2",
    "verb.change 2", "verb.cognition 2", "verb.communication 2", "verb.competition 2",
    "verb.consumption 2", "verb.contact 2", "verb.creation 2", "verb.emotion 2", "verb.motion 2",
    "verb.perception 2", "verb.possession 2", "verb.social 2", "verb.stative 2",
    "verb.weather 2", "adj.ppl 3",
)


def lexnames_text() -> str:
    """The 45-line ``lexnames`` file of WordNet 3.0: number, file name, syntactic category,
    tab-separated (``lexnames(5)``)."""
    lines = []
    for i, entry in enumerate(_LEXNAMES):
        name, cat = entry.split()
        lines.append(f"{i:02d}\t{name}\t{cat}")
    return "\n".join(lines) + "\n"


def _find_source(source: Path | None) -> Path:
    candidates = [source] if source is not None else list(DEBIAN_DIRS)
    env = os.environ.get("HALLUSCOPE_WORDNET_DIR")
    if source is None and env:
        candidates.insert(0, Path(env))
    for c in candidates:
        if c is not None and all((c / f).is_file() for f in REQUIRED):
            return c
    raise ConfigError(
        "WordNet database not found: expected the files of WordNet 3.0 (data.noun, index.noun, "
        f"...) in {', '.join(str(c) for c in candidates if c is not None)}. Install them with: "
        "apt-get install wordnet-base wordnet-sense-index")


def default_target() -> Path:
    """``<sys.prefix>/nltk_data/corpora/wordnet`` (a folder NLTK searches by default)."""
    return Path(sys.prefix) / "nltk_data" / "corpora" / "wordnet"


def _complete(target: Path) -> bool:
    return (target / "lexnames").is_file() and all((target / f).is_file() and
                                                   not (target / f).is_symlink()
                                                   for f in REQUIRED)


def ensure_wordnet(target: str | Path | None = None, *, source: str | Path | None = None) -> Path:
    """Make WordNet available to NLTK; return the folder holding it.

    Args:
        target: The ``corpora/wordnet`` folder to fill (default :func:`default_target`).
        source: The folder holding Debian's WordNet files (default ``/usr/share/wordnet``, or
            env ``HALLUSCOPE_WORDNET_DIR``).

    Raises:
        ConfigError: when the Debian files are absent, naming the ``apt-get`` command.
    """
    target = Path(target) if target is not None else default_target()
    if _complete(target):
        return target
    src = _find_source(Path(source) if source is not None else None)
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for name in REQUIRED + OPTIONAL:
        f = src / name
        dest = target / name
        if not f.is_file():
            continue
        if dest.is_symlink():
            dest.unlink()
        if not dest.is_file() or dest.stat().st_size != f.stat().st_size:
            shutil.copyfile(f.resolve(), dest)
            copied += 1
    lex = target / "lexnames"
    if lex.is_symlink():
        lex.unlink()
    if not lex.is_file():
        lex.write_text(lexnames_text(), encoding="utf-8")
    log.info("WordNet: copied %d files from %s to %s", copied, src, target)
    return target


def wordnet_available() -> bool:
    """Whether NLTK can load WordNet now (without copying anything)."""
    try:
        import_nltk()
        from nltk.corpus import wordnet as wn
        wn.ensure_loaded()
        return True
    except LookupError:
        return False
    except Exception:  # a broken corpus folder
        log.debug("WordNet failed to load", exc_info=True)
        return False


#: The lemma index files NLTK's reader reads once, line by line, when it loads (nothing else
#: opens them: lemma lookups use the map built from them).
_INDEX_FILES = frozenset({"index.noun", "index.verb", "index.adj", "index.adv"})


def _load_faster() -> None:
    """Two changes to how NLTK 3.10's WordNet reader loads (2.7 s -> 0.6 s here), with the same
    reader as a result (``tests/test_annotations.py`` compares them):

    * it maps WordNet 3.0's synset offsets to the loaded version's (``map_wn``, for the
      multilingual OMW data, which uses 3.0's offsets) by reading ``index.sense`` twice, 1.5 s,
      and decides whether to by comparing the loaded version ("3.0") with a corpus name
      ("wordnet"), so it builds the map for WordNet 3.0 too, where it is the identity. There it
      is skipped (OMW data, which halluscope never reads, is then looked up by its own offsets);
    * it reads the four lemma index files (147,000 lines) through its seekable stream reader,
      a Python ``readline`` per line, 0.3 s more than a plain text file, which is what they get.
    """
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    original_map, original_open = WordNetCorpusReader.map_wn, WordNetCorpusReader.open
    if getattr(original_map, "skips_identity", False):
        return

    def map_wn(self, version="wordnet"):
        if version == "wordnet" and self.get_version() == "3.0":
            return None
        return original_map(self, version)

    def open_index(self, fileid):
        if fileid in _INDEX_FILES:
            return open(self.abspath(fileid), encoding=self.encoding(fileid))
        return original_open(self, fileid)

    map_wn.skips_identity = True        # type: ignore[attr-defined]
    map_wn.original = original_map      # type: ignore[attr-defined]
    open_index.original = original_open  # type: ignore[attr-defined]
    WordNetCorpusReader.map_wn = map_wn
    WordNetCorpusReader.open = open_index


def load_wordnet():
    """NLTK's ``wordnet`` corpus reader, installing the Debian files first when needed."""
    import_nltk()       # without SciPy/scikit-learn (halluscope._nltk)
    _load_faster()
    from nltk.corpus import wordnet as wn
    try:
        wn.ensure_loaded()
        return wn
    except LookupError:
        pass
    target = ensure_wordnet()
    import nltk
    root = str(target.parent.parent)
    if root not in nltk.data.path:
        nltk.data.path.append(root)
    from nltk.corpus import wordnet as wn2
    wn2.ensure_loaded()
    return wn2


if __name__ == "__main__":  # the set-up script runs this once: `python -m halluscope.claims.wordnet`
    print(load_wordnet().synsets("dog")[0].name() and ensure_wordnet())
