"""nngen_rates.py — the options bench/pytorch_compare.py and bench/jax_compare.py share: `--nngen`, nngen's
median steps/s per backend@threads (e.g. "tcc@1=40.2,cc@1=530"), the thread counts, the repeats and the
seconds per repeat; each checked when the options are parsed (before any timing), so that a malformed value
is an argparse error naming it, not a traceback after the run."""

import argparse
import math


def nngen_rates(text):
    """{"cc@1": 530.0, ...} from "cc@1=530,..." (a backend without @threads stands for every thread count);
    an empty text gives {}."""
    rates = {}
    for item in filter(None, text.split(",")):
        backend, equals, value = item.partition("=")
        name, at, threads = backend.partition("@")
        rate = positive_number(value)
        if not equals or not name or (at and not threads.isdigit()) or rate is None:
            raise argparse.ArgumentTypeError(
                f"'{item}' is not backend[@threads]=steps/s (e.g. cc@1=530) with a positive, finite rate")
        rates[backend] = rate
    return rates


def positive_number(text):
    """The positive, finite number `text` spells, else None."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None


def positive_integer(text, what):
    """The positive integer `text` spells, else an argparse error naming it as `what`."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive {what}")
    return int(text)


def thread_count(text):
    """2 from "2": a positive thread count."""
    return positive_integer(text, "thread count")


def thread_counts(text):
    """[1, 2] from "1,2": positive thread counts."""
    return [thread_count(item) for item in text.split(",")]


def repeat_count(text):
    """5 from "5": a positive number of timed repeats (the median of none is undefined)."""
    return positive_integer(text, "number of repeats")


def repeat_seconds(text):
    """0.5 from "0.5": the positive, finite time one repeat should last."""
    seconds = positive_number(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive, finite number of seconds")
    return seconds
