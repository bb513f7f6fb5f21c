"""Whether network3's max-pool gradient at tied maxima changes the results.

Theano's ``max_pool_2d``, which network3's ConvPool layer uses, gives a window's gradient to *every*
input equal to the window's maximum; Keras' ``MaxPooling2D`` gives it to one of them
(``lib.models.TheanoMaxPooling2D``). Each net is trained twice from the same initial weights, on
network3's data in the same fixed mini-batch order, with network3's SGD: once with each pool. The
two runs of a pair differ only in that gradient, so their accuracy after each epoch is compared
pair by pair, over several seeds.

``python -m lab pool-rule`` trains the runs not yet in ``results/pool_rule/`` (one JSON per run,
written when the run ends) and then writes the report ``results/pool_rule.md``; the same command
started twice, pinned to one core each (``taskset -c 0`` / ``-c 1``), shares the work.
"""

import fcntl
import json
import statistics
import time

import keras
import numpy as np

from lab.bench import NETS, keras_net
from lib import data, system, training
from lib.models import POOLS
from lib.paths import ROOT, relative
from lib.results import to_markdown, write_json

DIRECTORY = ROOT / "results" / "pool_rule"
REPORT = ROOT / "results" / "pool_rule.md"


def run_path(net, seed, pool, epochs, directory=DIRECTORY):
    return directory / f"{net}.{pool}.seed{seed}.epochs{epochs}.json"


def train(net, seed, pool, epochs, mnist, log=print):
    """Train net ``net`` (``lab.bench.NETS``) with ``pool`` from seed ``seed``'s initial weights:
    network3's SGD on mini-batches of 10 in fixed order; the validation and test accuracy after each
    epoch."""
    (x, y), val_set, test_set = mnist
    system.set_seed(seed)
    model = keras_net(net, pool=pool)
    optimizer = keras.optimizers.SGD(NETS[net].eta)
    training.compile_model(model, optimizer, steps=len(x) // 10)
    record = {"net": net, "seed": seed, "pool": pool, "epochs": epochs, "n_train": len(x)}
    record |= {"epoch_val_accuracy": [], "epoch_test_accuracy": [], "epoch_loss": [], "epoch_time_s": []}
    for epoch in range(epochs):
        started = time.perf_counter()
        loss = model.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0).history["loss"][-1]
        record["epoch_time_s"].append(time.perf_counter() - started)
        record["epoch_loss"].append(float(loss))
        val, test = training.accuracy(model, *val_set), training.accuracy(model, *test_set)
        record["epoch_val_accuracy"].append(val)
        record["epoch_test_accuracy"].append(test)
        log(
            f"{net} {pool} seed {seed} · epoch {epoch + 1}/{epochs} · loss {loss:.4f} · "
            f"validation {100 * val:.2f}% · test {100 * test:.2f}% · {record['epoch_time_s'][-1]:.1f} s"
        )
    return record | system.provenance()


def run_pairs(nets, seeds, epochs, directory=DIRECTORY, log=print):
    """Train each run of ``nets`` × ``seeds`` × both pools that is not yet stored nor being trained by
    another process (each run is claimed with a lock on its own file, so several processes share
    the work)."""
    directory.mkdir(parents=True, exist_ok=True)
    mnist = None
    for net in nets:
        for seed in seeds:
            for pool in POOLS:
                path = run_path(net, seed, pool, epochs, directory)
                with open(path.with_suffix(".lock"), "w") as lock:
                    try:
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # another process is training it
                    if path.exists():
                        continue
                    mnist = mnist or data.load_mnist()
                    write_json(path, train(net, seed, pool, epochs, mnist, log))
                    log(f"wrote {relative(path)}")


def pairs(directory=DIRECTORY):
    """The stored runs as ``{(net, epochs): {seed: {pool: record}}}``, complete pairs only."""
    found = {}
    for path in sorted(p for p in directory.glob("*.json") if not p.name.startswith("tmp-")):
        r = json.loads(path.read_text())
        found.setdefault((r["net"], r["epochs"]), {}).setdefault(r["seed"], {})[r["pool"]] = r
    return {
        key: {seed: runs for seed, runs in by_seed.items() if set(runs) == set(POOLS)}
        for key, by_seed in found.items()
    }


def _spread(values):
    """``+0.23 ± 0.18 (-0.03 to +0.37), s.e. 0.09, 3 of 4 > 0``: mean ± standard deviation, range,
    standard error of the mean and how many pairs favour theano's rule."""
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    ahead = sum(v > 0 for v in values)
    return (
        f"{mean:+.2f} ± {sd:.2f} ({min(values):+.2f} to {max(values):+.2f}), "
        f"s.e. {sd / len(values) ** 0.5:.2f}, {ahead} of {len(values)} > 0"
    )


def report(directory=DIRECTORY, last=5):
    """Markdown: per net, each pair's final accuracies and the differences (theano − keras, in
    percentage points), also averaged over the last ``last`` epochs, with their mean ± standard
    deviation and range over the pairs."""
    lines = []
    for (net, epochs), by_seed in sorted(pairs(directory).items()):
        if not by_seed:
            continue
        rows, final_val, final_test, late_val, late_test = [], [], [], [], []
        for seed, runs in sorted(by_seed.items()):
            k, t = runs["keras"], runs["theano"]
            dv = 100 * (t["epoch_val_accuracy"][-1] - k["epoch_val_accuracy"][-1])
            dt = 100 * (t["epoch_test_accuracy"][-1] - k["epoch_test_accuracy"][-1])
            lv = 100 * np.mean(np.subtract(t["epoch_val_accuracy"], k["epoch_val_accuracy"])[-last:])
            lt = 100 * np.mean(np.subtract(t["epoch_test_accuracy"], k["epoch_test_accuracy"])[-last:])
            final_val.append(dv), final_test.append(dt), late_val.append(lv), late_test.append(lt)
            time_ratio = sum(t["epoch_time_s"]) / sum(k["epoch_time_s"])
            rows.append(
                [
                    seed,
                    f"{100 * k['epoch_val_accuracy'][-1]:.2f} / {100 * t['epoch_val_accuracy'][-1]:.2f}",
                    f"{100 * k['epoch_test_accuracy'][-1]:.2f} / {100 * t['epoch_test_accuracy'][-1]:.2f}",
                    f"{dv:+.2f}",
                    f"{dt:+.2f}",
                    f"{lv:+.2f}",
                    f"{lt:+.2f}",
                    f"{time_ratio:.2f}×",
                ]
            )
        rows.append(
            [
                f"**{len(by_seed)} pairs**",
                "",
                "",
                _spread(final_val),
                _spread(final_test),
                _spread(late_val),
                _spread(late_test),
                "",
            ]
        )
        header = (
            "seed",
            f"validation after epoch {epochs}, keras / theano (%)",
            "test, keras / theano (%)",
            "Δ validation (pp)",
            "Δ test (pp)",
            f"Δ validation, last {last} epochs (pp)",
            f"Δ test, last {last} epochs (pp)",
            "time theano / keras",
        )
        lines.append(f"### {net}, {epochs} epochs\n\n" + to_markdown(header, rows))
    return "\n".join(lines)


def main(args):
    """``python -m lab pool-rule``: train the missing pairs, then write and print the report."""
    run_pairs(args.nets, args.seeds, args.epochs)
    text = report()
    REPORT.write_text(
        "# Max-pool gradient at tied maxima: Theano's rule against Keras'\n\n"
        "Δ = theano − keras, in percentage points: mean ± standard deviation (min to max) over the "
        "pairs, the standard error of the mean, and how many pairs favour theano's rule; each pair "
        "starts from the same initial weights. Written by `python -m lab pool-rule`."
        f"\n\n{text}"
    )
    print(text)
    return 0
