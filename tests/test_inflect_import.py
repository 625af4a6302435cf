"""inflect imported without typeguard's instrumentation (claims/vocab.py) gives the same singular
forms as inflect imported as usual, and leaves typeguard as it was."""

import json
import subprocess
import sys

WORDS = ["horses", "mice", "buses", "children", "people", "glasses", "knives", "dishes",
         "cacti", "teeth", "women", "sheep", "boxes", "benches", "skis", "giraffes", "dog",
         "scissors", "oxen", "geese", "leaves", "bananas", "series", "analyses", "pizzas"]


def test_same_singulars_as_instrumented_inflect_and_typeguard_restored():
    import typeguard

    from halluscope.claims.vocab import _inflect_engine
    real = typeguard.typechecked
    ours = [_inflect_engine().singular_noun(w) for w in WORDS]
    assert typeguard.typechecked is real
    code = ("import inflect, json, sys; e = inflect.engine(); "
            "print(json.dumps([e.singular_noun(w) for w in json.loads(sys.argv[1])]))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(WORDS)], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    assert ours == json.loads(out)
    assert ours[:3] == ["horse", "mouse", "bus"] and ours[16] is False
