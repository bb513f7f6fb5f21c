"""Training throughput of the network3 nets: ours, plain Keras defaults and a plain PyTorch loop.

Each net is trained for a fixed number of samples at a given mini-batch size, after a throwaway
model of the same net was trained at that size (``settle``) and one untimed warm-up pass per
contender (tracing and compilation), on random images in memory. The contenders' timed passes are
interleaved in rotating order (pass 0: ours, keras, torch; pass 1: keras, torch, ours; ...), so that
a slow spell of the machine falls on all of them; each contender's samples per second are reported
as the median and min–max of its passes, and each ratio as the ratio of the medians with the
min–max of the per-pass ratios (pass i of ours against pass i of the other, timed next to it).
Throughput is also reported as arithmetic: the net's multiply-adds per sample (``macs``), ×2 for
FLOPs, ×3 for a training step (forward, backward to the activations and to the weights), against
the GFLOP/s of a large float32 matmul measured on the same cores (``lib.system.matmul_gflops``).
The three contenders compute the same thing (same architecture, initial-weight statistics, SGD
learning rate and L2 term):

- ``ours``: the training core's settings (``lib.training``): many steps per compiled call, XLA where
  it is measured faster, mini-batches in fixed order.
- ``keras``: ``model.compile`` and ``model.fit`` with Keras' defaults (one step per call, shuffling).
- ``torch``: a plain PyTorch loop over in-memory tensors (``pip install torch==2.13.0``).
"""

import json
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import keras
import numpy as np

from lib import models, system, training
from lib.results import to_markdown

BATCH_SIZES = (10, 128)  # network3's mini-batch and a common larger one
PASSES = 5  # timed passes per contender, interleaved
TRAINING_FLOPS_PER_MAC = 6  # 2 FLOPs per multiply-add, ×3 for forward + backward (activations, weights)


@dataclass(frozen=True)
class Net:
    """A network3 net as blocks ``(kind, units, activation, p_dropout)``, the dropout probability on
    the softmax layer's input, and its SGD settings."""

    blocks: tuple
    eta: float
    l2: float = 0.0
    p_softmax: float = 0.0


RELU_BLOCKS = (("conv", 20, "relu", 0.0), ("conv", 40, "relu", 0.0))
NETS = {
    "fc-baseline": Net((("fc", 100, "sigmoid", 0.0),), eta=0.1),
    "conv-pool-1": Net((("conv", 20, "sigmoid", 0.0), ("fc", 100, "sigmoid", 0.0)), eta=0.1),
    "conv-pool-2": Net(
        (("conv", 20, "sigmoid", 0.0), ("conv", 40, "sigmoid", 0.0), ("fc", 100, "sigmoid", 0.0)), eta=0.1
    ),
    "relu": Net((*RELU_BLOCKS, ("fc", 100, "relu", 0.0)), eta=0.03, l2=models.l2_factor(0.1, 10, 50_000)),
    "dropout": Net(
        (*RELU_BLOCKS, ("fc", 1000, "relu", 0.5), ("fc", 1000, "relu", 0.5)), eta=0.03, p_softmax=0.5
    ),
}


def keras_net(name, pool="keras"):
    """The Keras model of net ``name``, built from ``lib.models``' network3 layers (``pool``: the
    ConvPool layers' max-pool, ``lib.models.POOLS``)."""
    net = NETS[name]
    blocks = [
        models.conv_pool(units, activation=act, l2=net.l2, pool=pool)
        if kind == "conv"
        else models.fully_connected(units, activation=act, p_dropout=p, l2=net.l2)
        for kind, units, act, p in net.blocks
    ]
    blocks.append(models.softmax(10, p_dropout=net.p_softmax, l2=net.l2))
    return models.network3(*blocks, name=name.replace("-", "_"))


def torch_net(name):
    """The same net as a ``torch.nn.Sequential`` on NCHW images, initialised as network3 does."""
    import torch
    from torch import nn

    net, modules = NETS[name], []
    channels, size, features = 1, 28, None  # features: the width once flattened
    activations = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}

    def normal(layer, weight_variance):
        nn.init.normal_(layer.weight, std=weight_variance**0.5)
        nn.init.normal_(layer.bias, std=1.0)
        return layer

    for kind, units, act, p in net.blocks:
        if kind == "conv":
            conv = normal(nn.Conv2d(channels, units, 5), 1.0 / (units * 25 / 4))
            modules += [conv, nn.MaxPool2d(2), activations[act]()]
            channels, size = units, (size - 4) // 2
            continue
        if features is None:
            modules.append(nn.Flatten())
            features = channels * size * size
        modules += [nn.Dropout(p)] if p else []
        modules += [normal(nn.Linear(features, units), 1.0 / units), activations[act]()]
        features = units
    p = net.p_softmax
    logits = nn.Linear(features, 10)
    nn.init.zeros_(logits.weight)
    nn.init.zeros_(logits.bias)
    modules += [nn.Dropout(p)] if p else []
    return torch.nn.Sequential(*modules, logits)


def _images(samples, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((samples, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, samples)


def _time_passes(train_pass, repeats):
    train_pass()  # warm-up: tracing, compilation, first allocations
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        train_pass()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_keras(name, batch_size, samples, repeats, defaults=False):
    """Median seconds to train Keras net ``name`` on ``samples`` images; ``defaults``: Keras' own."""
    return _time_passes(keras_pass(name, batch_size, samples, defaults), repeats)


def keras_pass(name, batch_size, samples, defaults=False):
    """A function that trains Keras net ``name`` on ``samples`` images once (one pass); ``defaults``:
    Keras' own settings (one step per call, shuffling), else the training core's."""
    x, y = _images(samples)
    system.set_seed(0)
    model = keras_net(name)
    optimizer = keras.optimizers.SGD(NETS[name].eta)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if defaults:
        model.compile(optimizer=optimizer, loss=loss)
        return lambda: model.fit(x, y, batch_size=batch_size, verbose=0)
    training.compile_model(model, optimizer, loss, steps=samples // batch_size)
    return lambda: model.fit(x, y, batch_size=batch_size, shuffle=False, verbose=0)


def time_torch(name, batch_size, samples, repeats):
    """Median seconds to train the PyTorch net ``name`` on ``samples`` images in a plain loop."""
    return _time_passes(torch_pass(name, batch_size, samples), repeats)


def torch_pass(name, batch_size, samples):
    """A function that trains the PyTorch net ``name`` on ``samples`` images once, in a plain loop."""
    import torch

    torch.manual_seed(0)
    model = torch_net(name)
    x, y = _images(samples)
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(y)
    optimizer = torch.optim.SGD(model.parameters(), lr=NETS[name].eta)
    loss_fn = torch.nn.CrossEntropyLoss()
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    l2 = NETS[name].l2

    def train_pass():
        model.train()
        for start in range(0, samples, batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[start : start + batch_size]), y[start : start + batch_size])
            if l2:
                loss = loss + l2 * sum((w * w).sum() for w in weights)
            loss.backward()
            optimizer.step()

    return train_pass


def phase_times_tensorflow(name, batch_size, steps, repeats):
    """Milliseconds per step of net ``name`` in TensorFlow, by phase: the forward pass, the backward
    pass and the SGD update, each inside one compiled loop over ``steps`` mini-batches (no host
    round trips), so that the differences are kernel time. TensorFlow backend only."""
    import tensorflow as tf

    if system.backend() != "tensorflow":
        raise RuntimeError("the phase profile needs KERAS_BACKEND=tensorflow")
    x, y = _images(batch_size * steps)
    xs = tf.constant(x.reshape(steps, batch_size, 28, 28, 1))
    ys = tf.constant(y.reshape(steps, batch_size))
    system.set_seed(0)
    model = keras_net(name)
    optimizer = keras.optimizers.SGD(NETS[name].eta)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def loss_and_grads(i, backward):
        with tf.GradientTape() as tape:
            loss = loss_fn(ys[i], model(xs[i], training=True)) + sum(model.losses)
        return loss, tape.gradient(loss, model.trainable_variables) if backward else []

    def loop(backward, update):
        @tf.function
        def run():
            total = tf.constant(0.0)
            for i in tf.range(steps):
                loss, grads = loss_and_grads(i, backward)
                if update:
                    optimizer.apply(grads, model.trainable_variables)
                total += loss + sum(tf.reduce_sum(g) for g in grads)
            return total

        return lambda: run().numpy()

    forward, backward, step = (_time_passes(loop(b, u), repeats) for b, u in ((0, 0), (1, 0), (1, 1)))
    return _phases(forward, backward, step, steps)


def phase_times_torch(name, batch_size, steps, repeats):
    """The same phases for the plain PyTorch loop (eager: its per-call overhead is in each phase)."""
    import torch

    torch.manual_seed(0)
    model = torch_net(name).train()
    x, y = _images(batch_size * steps)
    xs = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().reshape(steps, batch_size, 1, 28, 28)
    ys = torch.from_numpy(y).reshape(steps, batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=NETS[name].eta)
    loss_fn = torch.nn.CrossEntropyLoss()

    def loop(backward, update):
        def run():
            for i in range(steps):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(xs[i]), ys[i])
                if backward:
                    loss.backward()
                if update:
                    optimizer.step()

        return run

    forward, backward, step = (_time_passes(loop(b, u), repeats) for b, u in ((0, 0), (1, 0), (1, 1)))
    return _phases(forward, backward, step, steps)


def _phases(forward, forward_backward, step, steps):
    ms = 1000 / steps
    return {
        "forward": forward * ms,
        "backward": (forward_backward - forward) * ms,
        "update": (step - forward_backward) * ms,
        "step": step * ms,
    }


def phase_profile(nets=("conv-pool-1", "relu"), batch_sizes=BATCH_SIZES, repeats=3, log=print):
    """Where a training step's time goes, TensorFlow against PyTorch, plus what ``fit`` adds: rows of
    milliseconds per step by phase (``fit`` is the training core's whole step, through Keras)."""
    rows = []
    for name in nets:
        for batch_size in batch_sizes:
            steps = 500 if batch_size <= 10 else 50
            settle(name, batch_size)
            fit = time_keras(name, batch_size, batch_size * steps, repeats) * 1000 / steps
            for framework, timer in (("tensorflow", phase_times_tensorflow), ("torch", phase_times_torch)):
                row = {"net": name, "batch_size": batch_size, "framework": framework}
                row.update(timer(name, batch_size, steps, repeats))
                row["fit"] = fit if framework == "tensorflow" else None
                log(
                    f"{name:>12} · batch {batch_size:>3} · {framework:>10}: ms per step "
                    + " · ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float))
                )
                rows.append(row)
    return rows


def settle(name, batch_size):
    """Train a throwaway Keras copy of net ``name`` at ``batch_size`` before timing anything: on this
    CPU the first model trained at a new shape ran about 1.6× slower per step than every later one
    (measured at batch 128: 52 against 32 ms), which would otherwise fall on whoever is timed first."""
    time_keras(name, batch_size, batch_size * 20, repeats=1)


CONTENDERS = {  # name: (net, batch size, samples) -> a function that runs one training pass
    "ours": lambda n, b, s: keras_pass(n, b, s),
    "keras": lambda n, b, s: keras_pass(n, b, s, defaults=True),
    "torch": torch_pass,
}


def macs(name):
    """Multiply-adds of one forward pass of net ``name`` on one image (convolutions and dense layers;
    pooling, activations and biases are not counted)."""
    total, channels, size, features = 0, 1, 28, None
    for kind, units, _, _ in NETS[name].blocks:
        if kind == "conv":
            size -= 4  # valid 5×5 convolution
            total += size * size * units * channels * 25
            channels, size = units, size // 2
            continue
        features = features or channels * size * size
        total += features * units
        features = units
    return total + (features or channels * size * size) * 10


def rotations(names, passes):
    """The order of each pass: ``names`` rotated by one more place each pass."""
    names = list(names)
    return [names[i % len(names) :] + names[: i % len(names)] for i in range(passes)]


def spread(values):
    """Median, min and max of ``values``."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def default_samples(batch_size):
    """Samples per timed pass: 500 mini-batches at batch 10, 64 at larger batches (8,192 at 128),
    so that the whole default benchmark (5 nets × 2 batch sizes × 3 contenders × 6 passes) stays
    within about 12 minutes on 2 idle cores."""
    return batch_size * (500 if batch_size <= 10 else 64)


def benchmark(nets=tuple(NETS), batch_sizes=BATCH_SIZES, samples=None, passes=PASSES, log=print, gflops=None):
    """Samples per second of every contender for each net and batch size, as a list of rows.

    Each contender is built and warmed up once (untimed), then ``passes`` timed passes are run with
    the contenders interleaved in rotating order. ``gflops``: the machine's matmul rate, for the
    fraction of it each contender reaches (None: not reported).
    """
    rows = []
    names = list(CONTENDERS)
    for name in nets:
        for batch_size in batch_sizes:
            n = samples or default_samples(batch_size)
            row = {"net": name, "batch_size": batch_size, "samples": n, "macs_per_sample": macs(name)}
            settle(name, batch_size)
            runs = {}
            for contender in names:
                runs[contender] = CONTENDERS[contender](name, batch_size, n)
                runs[contender]()  # warm-up: tracing, compilation, first allocations
            rates = {contender: [] for contender in names}
            for order in rotations(names, passes):
                for contender in order:
                    started = time.perf_counter()
                    runs[contender]()
                    rates[contender].append(n / (time.perf_counter() - started))
            for contender in names:
                row[contender] = spread(rates[contender])
                row[contender]["passes"] = rates[contender]
                if gflops:
                    achieved = row[contender]["median"] * macs(name) * TRAINING_FLOPS_PER_MAC / 1e9
                    row[contender]["gflops"] = achieved
                    row[contender]["of_matmul"] = achieved / gflops
            for other in names[1:]:
                paired = [a / b for a, b in zip(rates[names[0]], rates[other], strict=True)]
                row[f"{names[0]}/{other}"] = {
                    "median": row[names[0]]["median"] / row[other]["median"],  # ratio of the medians
                    "min": min(paired),  # range of the per-pass (paired) ratios
                    "max": max(paired),
                }
            log(
                f"{name:>12} · batch {batch_size:>3} · samples/s median (min–max) "
                + " · ".join(f"{c} {_range(row[c], '{:,.0f}')}" for c in names)
                + " · "
                + " · ".join(f"{k} {_range(row[k], '{:.2f}')}×" for k in row if "/" in k)
            )
            rows.append(row)
    return rows


def _range(stats, fmt):
    return f"{fmt.format(stats['median'])} ({fmt.format(stats['min'])}–{fmt.format(stats['max'])})"


def markdown(report):
    """The benchmark report as a Markdown table with its machine, backend and command."""
    header = (
        "net",
        "batch",
        "samples/pass",
        "MMAC/sample",
        "ours (samples/s)",
        "Keras defaults",
        "PyTorch loop",
        "ours/Keras",
        "ours/PyTorch",
        "ours: GFLOP/s (of matmul)",
    )
    rows = []
    for r in report["rows"]:
        ours = r["ours"]
        rows.append(
            [
                r["net"],
                r["batch_size"],
                f"{r['samples']:,}",
                f"{r['macs_per_sample'] / 1e6:.2f}",
                _range(ours, "{:,.0f}"),
                _range(r["keras"], "{:,.0f}"),
                _range(r["torch"], "{:,.0f}"),
                _range(r["ours/keras"], "{:.2f}") + "×",
                _range(r["ours/torch"], "{:.2f}") + "×",
                f"{ours['gflops']:.1f} ({100 * ours['of_matmul']:.0f} %)" if "gflops" in ours else "",
            ]
        )
    matmul = report.get("matmul_gflops")
    return (
        f"Measured {report['finished_at']} on {report['device']} · Keras backend {report['backend']} · "
        f"torch {report['torch']} · {report['passes']} interleaved passes per contender in rotating order: "
        "samples/s as median (min–max); ratios as the ratio of the medians (min–max of the paired "
        "per-pass ratios) · GFLOP/s = samples/s × MAC/sample × 6 (2 FLOPs per multiply-add, ×3 for "
        "forward and backward)"
        + (
            f", against a {report['matmul_n']}² float32 matmul at {matmul:.1f} GFLOP/s on the same cores"
            if matmul
            else ""
        )
        + f" · `{report['command']}`\n\n"
        + to_markdown(header, rows)
    )


def report(rows, passes, command, gflops=None, matmul_n=None):
    """The rows with what they were measured on."""
    import torch

    return {
        "command": command,
        **system.provenance(),
        "torch": f"{torch.__version__} ({torch.get_num_threads()} threads)",
        "passes": passes,
        "matmul_gflops": gflops,
        "matmul_n": matmul_n,
        "rows": rows,
    }


def write(report_, directory):
    """Write ``bench.json`` and ``bench.md`` into ``directory``; return the Markdown."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bench.json").write_text(json.dumps(report_, indent=1) + "\n")
    text = markdown(report_)
    (directory / "bench.md").write_text(text)
    return text


def phases_markdown(rows, command):
    """The phase profile as a Markdown table with its machine and command."""
    header = (
        "net",
        "batch",
        "framework",
        "forward",
        "backward",
        "SGD update",
        "step (sum)",
        "through `fit` (ours)",
    )
    cells = [
        [
            r["net"],
            r["batch_size"],
            r["framework"],
            *(f"{r[phase]:.3f}" for phase in ("forward", "backward", "update", "step")),
            f"{r['fit']:.3f}" if r["fit"] is not None else "",
        ]
        for r in rows
    ]
    return (
        f"Measured {datetime.now(UTC).isoformat(timespec='seconds')} on {system.device()} · "
        f"median of 3 passes · `{command}` · milliseconds per optimizer step\n\n" + to_markdown(header, cells)
    )
