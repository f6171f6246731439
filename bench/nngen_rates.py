"""nngen_rates.py — the `--nngen` option of bench/pytorch_compare.py and bench/jax_compare.py: nngen's median
steps/s per backend@threads, e.g. "tcc@1=40.2,cc@1=530", checked when the options are parsed (before any
timing) so that a malformed value is an argparse error naming it, not a traceback after the run."""

import argparse
import math


def nngen_rates(text):
    """{"cc@1": 530.0, ...} from "cc@1=530,..."; an empty text gives {}."""
    rates = {}
    for item in filter(None, text.split(",")):
        backend, equals, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = math.nan
        if not equals or "@" not in backend or not math.isfinite(rate) or rate <= 0:
            raise argparse.ArgumentTypeError(
                f"'{item}' is not backend@threads=steps/s (e.g. cc@1=530) with a positive, finite rate")
        rates[backend] = rate
    return rates
