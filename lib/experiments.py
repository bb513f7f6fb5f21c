"""The experiments of the collection and the figures published for them."""

import json
from dataclasses import dataclass
from pathlib import Path

NIELSEN = "Nielsen, ch. 6 (network3.py)"
RADFORD = "Radford's Theano tutorial"
# The book's footnote: "I then reported the test accuracy which corresponded to the best validation
# accuracy from any of the three runs. [...] I've followed this procedure below, except where noted."
BEST_VALIDATION_OF_3 = "test accuracy of the best-validation run of 3"
TRANSCRIPT = "lecture transcript, one run"
CHAPTER_6 = ("01", "02", "03", "04", "05")  # the notebooks of Nielsen's chapter 6 series, in order


SEEDS = (0, 1, 2)  # the seeds every trained experiment runs with in the full profile


def run_name(experiment, seed):
    """The name of an experiment's run with ``seed``: its files are ``results/<name>.<profile>.json`` and
    ``models/<name>.<profile>.weights.h5``. Seed 0 keeps the experiment's own name; others add
    ``-seed<n>``."""
    return experiment if seed == 0 else f"{experiment}-seed{seed}"


@dataclass(frozen=True)
class Experiment:
    """One published number we reproduce, or one lecture experiment whose source printed none
    (``published`` is ``None``).

    ``runs``: the names of our runs of it, seed 0 first (default: ``run_name`` of each of ``SEEDS``).
    ``compared_at``: when the source stopped before the end, the epoch after which our test accuracy is
    compared with its figure (``results.as_published``).
    """

    name: str
    notebook: str
    title: str
    published: float | None  # test accuracy, as a fraction; None: the source printed none
    source: str
    protocol: str = "one run"  # how the published figure was obtained, as its source states it
    runs: tuple = ()
    compared_at: int | None = None  # the epoch the source stopped at: ours is compared after it too
    needs: str | None = None  # data beyond MNIST its full profile needs: its row says when it is absent

    def run_names(self):
        """The names of our runs of this experiment, seed 0 first."""
        return self.runs or tuple(run_name(self.name, seed) for seed in SEEDS)


EXPERIMENTS = {
    e.name: e
    for e in [
        Experiment(
            "softmax-regression",
            "00",
            "Softmax regression, SGD 0.05, batch 128, 1 + 100 epochs (60k/10k)",
            0.9247,
            "the lecture's run of Radford's Theano tutorial: 7.53% test error after 101 epochs",
            TRANSCRIPT,
        ),
        Experiment(
            "fc-baseline",
            "01",
            "784-100-10 sigmoid, SGD η 0.1, batch 10, 60 epochs",
            0.9780,
            NIELSEN,
            BEST_VALIDATION_OF_3,
        ),
        Experiment(
            "conv-pool-1",
            "02",
            "ConvPool 20@5×5 + FC 100, sigmoid, η 0.1, 60 epochs",
            0.9878,
            NIELSEN,
            BEST_VALIDATION_OF_3,
        ),
        Experiment(
            "conv-pool-2",
            "02",
            "ConvPool 20@5×5 + ConvPool 40@5×5 + FC 100, sigmoid, η 0.1, 60 epochs",
            0.9906,
            NIELSEN,
            BEST_VALIDATION_OF_3,
        ),
        Experiment(
            "relu",
            "03",
            "the same net with ReLU, η 0.03, λ 0.1, 60 epochs",
            0.9923,
            NIELSEN,
            BEST_VALIDATION_OF_3,
        ),
        Experiment(
            "expanded",
            "04",
            "ReLU net on the expanded set (250,000 images), 60 epochs",
            0.9937,
            NIELSEN,
            BEST_VALIDATION_OF_3,
        ),
        Experiment(
            "expanded-fc2",
            "04",
            "+ a second FC 100 layer, expanded set, 60 epochs",
            0.9943,
            NIELSEN,
            BEST_VALIDATION_OF_3,
        ),
        Experiment(
            "dropout",
            "05",
            "dropout 0.5 into FC 1000, FC 1000, softmax; expanded set, 40 epochs",
            0.9960,
            NIELSEN,
            BEST_VALIDATION_OF_3,
            runs=tuple(f"dropout-{i}" for i in range(1, 6)),  # seeds 0-4, the five nets of the vote
        ),
        Experiment(
            "dropout-ensemble",
            "05",
            "plurality vote of 5 dropout nets",
            0.9967,
            NIELSEN + ", 33 errors",
            "one vote of 5 nets",
            runs=("dropout-ensemble",),
        ),
        Experiment(
            "mnist-cnn",
            "06",
            "Keras mnist_cnn: conv 32, conv 64, pool, dense 128, Adadelta 1.0 ε 1e-8, 12 epochs (60k/10k)",
            0.9906,
            "the lecture's run of Keras' mnist_cnn.py on this network (the docstring's 99.25%: its 2015 net)",
            TRANSCRIPT,
        ),
        Experiment(
            "theano-mlp",
            "08",
            "784-625-10 sigmoid, SGD 0.05, batch 128, 100 epochs (60k/10k)",
            0.9572,
            "the lecture's run of " + RADFORD + ": 4.28% test error after 100 epochs",
            TRANSCRIPT,
        ),
        Experiment(
            "theano-modern-net",
            "08",
            "625-625 ReLU, dropout 0.2/0.5, RMSprop 0.001, 100 epochs (60k/10k)",
            0.9883,
            "the lecture's run of " + RADFORD + ": 1.17% test error after 100 epochs",
            TRANSCRIPT,
        ),
        Experiment(
            "theano-convnet",
            "08",
            "conv 32/64/128 3×3, ceil pooling, FC 625, RMSprop 0.001 (60k/10k)",
            0.9930,
            "the lecture's run of " + RADFORD + ": 0.70% test error after epoch 21, then stopped",
            "lecture transcript, one run stopped after 21 of 100 epochs",
            compared_at=21,
        ),
        Experiment(
            "speedrun",
            "10",
            "Speedrun: ≥ 99% mean test accuracy of 5 seeds, fastest from data in memory to trained model",
            0.9904,
            "tuomaso/train_mnist_fast: 99.04% mean accuracy in 762 ms ± 24.9 ms on a GTX 1660 Ti",
            "mean of 30 seeds, one epoch, on a GPU",
            runs=("speedrun",),
        ),
        Experiment(
            "cifar10-cnn",
            "11",
            "CIFAR-10: conv 32, dropout 0.3, conv 32, pool, dense 512, dropout 0.5; SGD 0.001 momentum 0.9, "
            "batch 32, 20 epochs (50k/10k)",
            None,
            "the convolutional-networks notes' PyTorch example: code only, no accuracy printed",
            "lecture notes, code only",
            runs=("cifar10-cnn",),
            needs="CIFAR-10",
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
