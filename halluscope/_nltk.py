"""Importing NLTK without the scientific stack it pulls in at import time.

``import nltk`` (and so ``import nltk.tokenize.punkt``: a submodule runs its package's
``__init__`` first) imports every NLTK subpackage, and three of them import SciPy and
scikit-learn inside ``try`` blocks for features halluscope never uses (Fisher's exact test for
collocations, the scikit-learn classifier wrapper, the transition parser's SVM). That costs
about 0.75 s of a 0.9 s import on a small machine, which is most of the start-up of a
one-caption CHAIR audit.

:func:`import_nltk` imports NLTK with SciPy, scikit-learn and pandas hidden from the importing
thread (when nothing has imported them yet: a finder at the head of ``sys.meta_path`` refuses
them in that thread only), then puts back in those NLTK modules a stand-in for each name their
``try`` block could not import. A stand-in imports the real object the first time it is
called or one of its attributes is read, and replaces itself with it, so those NLTK features
keep working in the same process. NLTK's own code is unchanged and the tokenizer is NLTK's.

:func:`import_spacy` does the same for spaCy and torch (thinc imports torch for layers the
claim splitter's pipelines do not have).
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
from typing import Any

#: Packages NLTK imports at import time only inside ``try`` blocks for features we do not use.
_HIDDEN = ("scipy", "sklearn", "pandas")

#: ``module -> {name: (module it comes from, attribute or None for the module itself)}``: the
#: names those ``try`` blocks import.
_DEFERRED: dict[str, dict[str, tuple[str, str | None]]] = {
    "nltk.metrics.association": {"fisher_exact": ("scipy.stats", "fisher_exact")},
    "nltk.classify.scikitlearn": {
        "DictVectorizer": ("sklearn.feature_extraction", "DictVectorizer"),
        "LabelEncoder": ("sklearn.preprocessing", "LabelEncoder")},
    "nltk.parse.transitionparser": {
        "sparse": ("scipy.sparse", None), "svm": ("sklearn.svm", None),
        "load_svmlight_file": ("sklearn.datasets", "load_svmlight_file")},
}


class _Deferred:
    """A name an NLTK module could not import while SciPy/scikit-learn were hidden: imports the
    real object on first use and puts it in the module in its place."""

    def __init__(self, owner: str, name: str, source: str, attr: str | None):
        self._where = (owner, name, source, attr)

    def _resolve(self) -> Any:
        owner, name, source, attr = self._where
        value = importlib.import_module(source)
        if attr is not None:
            value = getattr(value, attr)
        setattr(sys.modules[owner], name, value)
        return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._resolve(), name)

    def __repr__(self) -> str:
        owner, name, source, attr = self._where
        return f"<deferred {source}{'.' + attr if attr else ''} for {owner}.{name}>"


class _HideFromThisThread(importlib.abc.MetaPathFinder):
    """Makes ``import scipy`` (and the others in ``_HIDDEN``) fail in one thread while NLTK is
    imported there; imports in other threads are not affected."""

    def __init__(self, hidden: frozenset[str]):
        self.thread = threading.get_ident()
        self.hidden = hidden

    def find_spec(self, name, path=None, target=None):
        if threading.get_ident() == self.thread and name.partition(".")[0] in self.hidden:
            raise ModuleNotFoundError(f"{name} is hidden while halluscope imports a library "
                                      f"that does not need it", name=name)
        return None


def import_hiding(module: str, hidden: tuple[str, ...]) -> tuple[Any, frozenset[str]]:
    """``import module`` with the packages ``hidden`` that nothing has imported yet refused in
    this thread (the module's ``try`` blocks go without them); returns the module and the
    packages that were hidden. Later imports of them, anywhere, work as usual."""
    if module in sys.modules:
        return importlib.import_module(module), frozenset()  # (waits for another thread)
    hide = frozenset(name for name in hidden if name not in sys.modules)
    finder = _HideFromThisThread(hide)
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module(module), hide
    finally:
        sys.meta_path.remove(finder)


def import_nltk() -> Any:
    """``import nltk`` without importing SciPy, scikit-learn or pandas; returns the module."""
    nltk, hidden = import_hiding("nltk", _HIDDEN)
    if hidden:
        _restore_deferred()
    return nltk


def import_spacy() -> Any:
    """``import spacy`` without torch, when nothing has imported torch yet: thinc imports it
    (1.1 of spaCy's 1.6 s import here) only to offer torch-backed layers, which the CNN
    pipelines the claim splitter loads (:data:`halluscope.claims.parse.PIPELINES`) do not use.
    thinc then reports ``has_torch = False`` in this process; torch itself imports as usual
    for whatever needs it later (a detector, a local model)."""
    return import_hiding("spacy", ("torch",))[0]


def _restore_deferred() -> None:
    from nltk.metrics import association

    for owner, names in _DEFERRED.items():
        module = sys.modules.get(owner)
        if module is None:
            continue
        for name, (source, attr) in names.items():
            current = getattr(module, name, None)
            stub = owner == "nltk.metrics.association" and current is not None \
                and getattr(current, "__module__", "") == association.__name__
            if current is None or stub:
                setattr(module, name, _Deferred(owner, name, source, attr))
