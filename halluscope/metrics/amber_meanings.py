"""What each statistic of :class:`~halluscope.metrics.amber.AmberMetric` is, in words.

As AMBER's ``inference.py`` computes them (the module docstring of
:mod:`halluscope.metrics.amber` gives the rules): the generative half over descriptions (AMBER
ids 1-1004), the discriminative half over yes/no answers, where "No" is the positive class of
precision, recall and F1, for all questions and per question type. Also what each unit column
counts (``UNIT_WORDS``), for the reason a statistic over none of them has no value.
"""

from __future__ import annotations

#: The discriminative question types: statistic prefix -> the questions it is over.
QUESTION_GROUPS = {"": "yes/no questions",
                   "existence_": "existence questions",
                   "attribute_": "attribute questions (state, number and action together)",
                   "state_": "state questions",
                   "number_": "number questions",
                   "action_": "action questions",
                   "relation_": "relation questions"}


def _discriminative(prefix: str, questions: str) -> dict[str, str]:
    return {
        f"{prefix}accuracy": f"share of the {questions} answered right; higher is better",
        f"{prefix}precision": f"share of the answers read No to {questions} whose truth is No "
                              f"(AMBER's positive class is No)",
        f"{prefix}recall": f"share of the {questions} whose truth is No that are answered No",
        f"{prefix}f1": f"harmonic mean of precision and recall on the {questions}, No as the "
                       f"positive class; higher is better"}


MEANINGS: dict[str, str] = {
    "chair": "AMBER's CHAIR: share of the AMBER object nouns in the descriptions (repeats "
             "counted) that are hallucinated: no truth object, association word of one or safe "
             "word; lower is better",
    "cover": "share of the images' truth objects the descriptions mention (by name or an "
             "association word); higher is better",
    "hal": "share of the descriptions with at least one hallucinated noun; lower is better",
    "cog": "share of the images' hallu objects (absent objects AMBER lists as likely "
           "hallucinations) the descriptions mention; lower is better",
    **{k: v for prefix, questions in QUESTION_GROUPS.items()
       for k, v in _discriminative(prefix, questions).items()},
    "amber_score": "AMBER score: (1 - CHAIR + F1) / 2, the generative CHAIR with the overall "
                   "discriminative F1; higher is better",
    "n_generative": "descriptions scored (the generative half, AMBER ids 1-1004)",
    "n_discriminative": "yes/no questions scored (the discriminative half)",
}

#: What a unit column counts, for the reason a statistic over none has no value.
UNIT_WORDS = {"chair_num": "AMBER object nouns in the scored descriptions",
              "safe_cover_num": "truth objects of scored descriptions",
              "hallu_cover_num": "hallu objects of scored descriptions",
              "non_hallu_num": "scored descriptions (the generative half, AMBER ids 1-1004)",
              "correct_num": "scored {g}questions", "ans_no_num": "{g}answers read No",
              "no_num": "{g}questions whose label is No",
              "either_no_num": "{g}answers read No or questions labelled No"}

__all__ = ["MEANINGS", "QUESTION_GROUPS", "UNIT_WORDS"]
