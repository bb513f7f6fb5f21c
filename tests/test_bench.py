import keras
import pytest

from lab import bench, cli


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


def test_benchmark_reports_samples_per_second_and_ratios(monkeypatch):
    seconds = {"ours": 1.0, "keras": 4.0, "torch": 2.0}
    monkeypatch.setattr(bench, "CONTENDERS", {k: (lambda n, b, s, r, t=t: t) for k, t in seconds.items()})
    monkeypatch.setattr(bench, "settle", lambda name, batch_size: None)
    (row,) = bench.benchmark(["relu"], [10], samples=100, repeats=1, log=lambda line: None)
    assert row["ours"] == 100 and row["keras"] == 25 and row["ours/keras"] == 4.0
    assert row["ours/torch"] == 2.0
    report = {"command": "c", "device": "d", "backend": "b", "torch": "t", "repeats": 1, "finished_at": "f"}
    assert "| relu | 10 | 100 | 100 | 25 | 50 | 4.00× | 2.00× |" in bench.markdown({**report, "rows": [row]})


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
