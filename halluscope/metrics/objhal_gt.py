"""Object HalBench's ground truth: each COCO image's objects as RLAIF-V's scorer builds them.

RLHF-V/RLAIF-V @83d917b ``eval/eval_gpt_obj_halbench.py`` builds an image's ground truth as the
original CHAIR does -- the category of every instance annotation, plus the object words of the
image's reference captions -- but it reads the reference captions its own way:

* NLTK's word tokenizer on the lower-cased caption, then WordNet's lemmatiser (as a noun) on
  every token, not Pattern's ``singularize``: ``bus`` stays ``bus`` (Pattern: ``bu``), ``ties``
  becomes ``tie`` (Pattern: ``ty``), ``people`` stays ``people``;
* its own synonym list (``synonyms_refine.txt``: CHAIR's 80 objects plus ``brother``,
  ``pedestrian``, ``coffee table``, ``remote control``), whose every multi-word entry is a
  two-word phrase to fuse (``dining table``, ``tennis racket``; CHAIR's list has its own
  phrases), with ``home plate``, ``train track``, the ``baby``/``adult``/``passenger``
  qualifiers, ``bow tie``, ``toilet seat`` and ``wine glas``;
* ``seat`` dropped from a caption that has ``toilet``.

Measured on the OPERA caption sentences (``shared/data/chair/captions``), 700 of 25,392 give
another object set this way than CHAIR's original parser (``bus``, ``person``, ``tie``,
``cake``, ``vase``), so a ground truth written by ``halluscope chair gt --variant original`` is
not the one behind Object HalBench's numbers: ``halluscope chair gt --variant objhal`` builds
this one (:class:`ObjhalCaptionParser` is the parser it reads captions with).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from halluscope.hashing import sha256_file
from halluscope.metrics.chair_text import word_tokenizer
from halluscope.metrics.chair_vocab import Mention, Parsed
from halluscope.metrics.objhal import ObjhalVocabulary

VARIANT = "objhal"


@dataclass(frozen=True)
class _VocabularyFile:
    """What the ground-truth cache keys a parser's vocabulary by."""

    label: str
    sha256: str


@lru_cache(maxsize=1)
def _wordnet_lemma():
    """WordNet's noun lemmatiser (``WordNetLemmatizer().lemmatize``), memoised per token."""
    from halluscope.claims.wordnet import load_wordnet
    load_wordnet()
    from nltk.stem import WordNetLemmatizer
    return lru_cache(maxsize=200_000)(WordNetLemmatizer().lemmatize)


class ObjhalCaptionParser:
    """The reference-caption reader of Object HalBench's scorer (``CHAIR.caption_to_words`` of
    ``eval_gpt_obj_halbench.py``), with the interface :mod:`halluscope.metrics.chair_gt` builds
    a ground truth through (``variant``, ``vocabulary``, ``nodes``, ``spec``, :meth:`parse`)."""

    variant = VARIANT

    def __init__(self, vocabulary: ObjhalVocabulary | None = None):
        self.vocab = vocabulary or ObjhalVocabulary.load()
        self.vocabulary = dict(self.vocab.node_of)
        self.nodes = tuple(dict.fromkeys(self.vocab.node_of.values()))
        source = Path(self.vocab.source)
        digest = sha256_file(source) if source.is_file() else "in-memory"
        self.spec = _VocabularyFile(f"objhal synonyms {source.name}", digest)

    def words(self, caption: str) -> list[str]:
        """The caption's lemmas with two-word phrases fused, as the original builds them."""
        lemma = _wordnet_lemma()
        words = [lemma(w) for w in word_tokenizer()(caption.lower())]
        fused, i = [], 0
        doubles = self.vocab.double_words
        while i < len(words):
            pair = " ".join(words[i:i + 2])
            if pair in doubles:
                fused.append(doubles[pair])
                i += 2
            else:
                fused.append(words[i])
                i += 1
        return fused

    def parse(self, caption: str, spans: bool = False) -> Parsed:
        """The caption's object mentions (``index``: the position among the fused words;
        ``span``: not located)."""
        words = self.words(caption)
        n = len(words)
        if "toilet" in words and "seat" in words:
            words = [w for w in words if w != "seat"]
        node_of = self.vocabulary
        return Parsed(tuple(Mention(w, node_of[w], k, None) for k, w in enumerate(words)
                            if w in node_of), n)


__all__ = ["VARIANT", "ObjhalCaptionParser"]
