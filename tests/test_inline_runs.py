"""The test harness itself: in-process pytest runs (``pytester``) keep halluscope's modules."""

from __future__ import annotations

import sys

pytest_plugins = ["pytester"]

PROBE = "halluscope._probe_loaded_inline"


def test_a_module_first_loaded_in_an_inline_run_stays_loaded_after_it(pytester):
    # the inner test loads a halluscope module (here a stand-in) for the first time; the
    # snapshot restore used to drop it, and the next import made a second copy of its classes
    sys.modules.pop(PROBE, None)
    pytester.makepyfile(f"""
        import sys, types

        def test_load():
            module = types.ModuleType({PROBE!r})
            module.marker = object()
            sys.modules[{PROBE!r}] = module
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    try:
        assert PROBE in sys.modules
    finally:
        sys.modules.pop(PROBE, None)


def test_other_modules_loaded_in_an_inline_run_are_still_dropped(pytester):
    name = "probe_not_halluscope_module"
    pytester.makepyfile(f"""
        import sys, types

        def test_load():
            sys.modules[{name!r}] = types.ModuleType({name!r})
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert name not in sys.modules
