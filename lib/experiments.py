"""The experiments of the collection and the figures published for them."""

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Experiment:
    """One published number we reproduce."""

    name: str
    notebook: str
    title: str
    published: float  # test accuracy, as a fraction
    source: str


EXPERIMENTS = {
    e.name: e
    for e in [
        Experiment(
            "softmax-regression",
            "00",
            "Softmax regression, SGD 0.05, batch 128, 100 epochs (60k/10k)",
            0.925,
            "Radford's Theano tutorial (lecture run: 7.53% test error)",
        ),
        Experiment(
            "fc-baseline",
            "01",
            "784-100-10 sigmoid, SGD η 0.1, batch 10, 60 epochs",
            0.9780,
            "Nielsen, ch. 6 (network3.py)",
        ),
    ]
}


def get_experiment(name):
    """The registered experiment ``name``; ``KeyError`` lists the known names."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise KeyError(f"unknown experiment {name!r}: known are {', '.join(EXPERIMENTS)}") from None


def lecture_log(name):
    """Per-epoch accuracies of the lecture's own run of experiment ``name`` (from its transcript)."""
    logs = json.loads((Path(__file__).with_name("lecture_logs.json")).read_text())
    return logs[name]
