import keras
import numpy as np
import pytest

from lib import speedrun
from lib.profiles import get_profile


def test_one_cycle_rises_to_its_peak_then_falls_to_zero():
    schedule = speedrun.OneCycle(peak=0.01, steps=100, warmup=0.25)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 25, 50, 100, 120)]
    assert rates == pytest.approx([0.0004, 0.01, 0.01 * 50 / 75, 0.0, 0.0], abs=1e-7)


def test_speed_net_outputs_ten_logits_per_image():
    net = speedrun.speed_net((8, 16))
    assert net.output_shape == (None, 10)
    assert [layer.__class__.__name__ for layer in net.layers[:4]] == [
        "Conv2D",
        "BatchNormalization",
        "ReLU",
        "MaxPooling2D",
    ]


def test_the_cheapest_recipe_that_reaches_the_target_is_chosen():
    trials = [  # cheapest first; measured seconds do not decide (a busy machine slows any of them)
        {"recipe": "1 epoch", "accuracy": 0.985, "seconds": 20.0},
        {"recipe": "2 epochs", "accuracy": 0.991, "seconds": 95.0},
        {"recipe": "3 epochs", "accuracy": 0.993, "seconds": 90.0},
    ]
    assert speedrun.choose(trials) == ("2 epochs", True)
    assert speedrun.choose(trials, target=0.995) == ("3 epochs", False)  # none did: the most accurate


def test_a_trial_trains_and_the_summary_reports_mean_and_spread():
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = np.arange(64) % 2  # learnable: images of class 1 get a bright corner
    x[y == 1, :4, :4] = 1.0
    recipe = speedrun.Recipe("tiny", epochs=10, peak_lr=0.01, widths=(4, 8), batch_size=16)
    trials = [speedrun.trial(recipe, (x, y), (x, y), seed) for seed in (0, 1)]
    assert all(t["seconds"] > 0 for t in trials)
    assert min(t["accuracy"] for t in trials) > 0.9
    result = speedrun.summarise(recipe, trials, get_profile("quick"))
    accuracies = [t["accuracy"] for t in trials]
    assert result["test_accuracy"] == pytest.approx(np.mean(accuracies))
    assert result["test_accuracy_std"] == pytest.approx(np.std(accuracies, ddof=1))
    assert result["protocol"] == "mean of 2 seeds" and result["recipe"]["widths"] == (4, 8)
