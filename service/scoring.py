"""Batch scoring (work in progress)."""


def add_score_arguments(p):
    p.add_argument("inputs", nargs="+")
