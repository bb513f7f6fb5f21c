import keras
import pytest

from lab import bench, cli
from lib import system


def test_keras_nets_are_network3s_nets():
    assert bench.keras_net("fc-baseline").count_params() == 784 * 100 + 100 + 100 * 10 + 10
    two_conv = 20 * 25 + 20 + 40 * 20 * 25 + 40 + 40 * 4 * 4 * 100 + 100 + 100 * 10 + 10
    assert bench.keras_net("conv-pool-2").count_params() == two_conv
    relu = bench.keras_net("relu")
    assert relu.layers[-1].kernel_regularizer.l2 == pytest.approx(1e-5)
    dropped = [type(layer).__name__ for layer in bench.keras_net("dropout").layers].count("Dropout")
    assert dropped == 3  # the inputs of both FC 1000 layers and of the softmax layer


def test_torch_nets_have_the_keras_nets_parameters():
    torch = pytest.importorskip("torch", reason="the PyTorch side needs requirements-backends.txt")
    for name in bench.NETS:
        net = bench.torch_net(name)
        assert sum(p.numel() for p in net.parameters()) == bench.keras_net(name).count_params(), name
        assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_passes_are_interleaved_in_rotating_order():
    assert bench.rotations(["ours", "keras", "torch"], 4) == [
        ["ours", "keras", "torch"],
        ["keras", "torch", "ours"],
        ["torch", "ours", "keras"],
        ["ours", "keras", "torch"],
    ]


def test_benchmark_reports_median_range_and_paired_ratios(monkeypatch):
    calls = []
    # a pass of contender c lasts seconds[c][pass] s
    seconds = {"ours": [1, 1, 2, 1, 1], "keras": [4, 4, 4, 2, 4], "torch": [2, 2, 2, 2, 2]}
    now = [0.0]

    def factory(contender):
        def make(name, batch_size, samples):
            def run():
                calls.append(contender)
                done = calls.count(contender) - 2  # the first call is the warm-up
                if done >= 0:
                    now[0] += seconds[contender][done]

            return run

        return make

    monkeypatch.setattr(bench, "CONTENDERS", {c: factory(c) for c in seconds})
    monkeypatch.setattr(bench, "settle", lambda name, batch_size: None)
    monkeypatch.setattr(bench.time, "perf_counter", lambda: now[0])
    (row,) = bench.benchmark(["relu"], [10], samples=100, passes=5, log=lambda line: None, gflops=100.0)
    assert calls[:3] == ["ours", "keras", "torch"]  # built and warmed up once each
    assert calls[3:9] == ["ours", "keras", "torch", "keras", "torch", "ours"]
    assert row["ours"]["median"] == 100 and row["ours"]["min"] == 50 and row["ours"]["max"] == 100
    assert row["keras"]["median"] == 25 and row["keras"]["max"] == 50
    assert row["ours/keras"]["median"] == 4.0  # the ratio of the medians
    assert (
        row["ours/keras"]["min"] == 2.0 and row["ours/keras"]["max"] == 4.0
    )  # pass 3: 50/25, pass 4: 100/50
    assert row["ours/torch"] == {"median": 2.0, "min": 1.0, "max": 2.0}
    flops = 100 * bench.macs("relu") * 6 / 1e9
    assert row["ours"]["gflops"] == pytest.approx(flops)
    assert row["ours"]["of_matmul"] == pytest.approx(flops / 100)
    report = {"command": "c", "device": "d", "backend": "b", "torch": "t", "passes": 5, "finished_at": "f"}
    text = bench.markdown({**report, "matmul_gflops": 100.0, "matmul_n": 2048, "rows": [row]})
    assert "| relu | 10 | 100 | 1.63 | 100 (50–100) | 25 (25–50) | 50 (50–50) | 4.00 (2.00–4.00)× |" in text
    assert "2048² float32 matmul at 100.0 GFLOP/s" in text


def test_multiply_adds_of_the_nets():
    assert bench.macs("fc-baseline") == 784 * 100 + 100 * 10
    conv1 = 24 * 24 * 20 * 25  # 20 maps of 24×24, each output a 5×5 window of one channel
    assert bench.macs("conv-pool-1") == conv1 + 20 * 12 * 12 * 100 + 100 * 10
    conv2 = 8 * 8 * 40 * 20 * 25
    assert bench.macs("relu") == conv1 + conv2 + 40 * 4 * 4 * 100 + 100 * 10
    assert bench.macs("dropout") == conv1 + conv2 + 640 * 1000 + 1000 * 1000 + 1000 * 10


def test_spread_and_default_samples():
    assert bench.spread([3.0, 1.0, 2.0, 5.0, 4.0]) == {"median": 3.0, "min": 1.0, "max": 5.0}
    assert bench.default_samples(10) == 5_000 and bench.default_samples(128) == 8_192


def test_matmul_rate_is_positive():
    assert system.matmul_gflops(n=64, repeats=2) > 0


def test_ours_and_keras_defaults_train_and_are_timed():
    assert bench.time_keras("fc-baseline", 10, 40, repeats=1) > 0
    assert bench.time_keras("fc-baseline", 10, 40, repeats=1, defaults=True) > 0


def test_unknown_net_is_exit_code_2(capsys):
    assert cli.main(["bench", "--nets", "resnet"]) == 2
    assert "unknown net(s) ['resnet']" in capsys.readouterr().err


def test_phase_profile_splits_a_step_into_forward_backward_and_update():
    if keras.backend.backend() != "tensorflow":
        with pytest.raises(RuntimeError, match="KERAS_BACKEND=tensorflow"):
            bench.phase_times_tensorflow("fc-baseline", batch_size=10, steps=20, repeats=1)
        return
    phases = bench.phase_times_tensorflow("fc-baseline", batch_size=10, steps=20, repeats=1)
    assert phases["forward"] > 0 and phases["step"] > phases["forward"]
    assert phases["step"] == pytest.approx(phases["forward"] + phases["backward"] + phases["update"])
    row = {"net": "fc-baseline", "batch_size": 10, "framework": "tensorflow", **phases, "fit": 1.0}
    table = bench.phases_markdown([row], "python -m lab bench --phases")
    assert f"| fc-baseline | 10 | tensorflow | {phases['forward']:.3f} |" in table
