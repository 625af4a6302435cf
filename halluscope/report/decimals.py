"""A finite float as the report and the console print it: the rule lives in
:mod:`halluscope.numbers` (:func:`~halluscope.numbers.fixed`), the bottom layer, so that the
reasons checks write ("IoU 0.9972", never "IoU 1.00") follow the same rule the report does;
the names are re-exported here for the report's modules."""

from __future__ import annotations

from halluscope.numbers import fixed, fixed_any, fixed_apart, signed

__all__ = ["fixed", "fixed_any", "fixed_apart", "signed"]
