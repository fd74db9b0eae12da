"""The fast path's options: torch.compile with fallback, bf16 autocast, fp16 refused on CPU."""

import copy
import json

import torch
from safetensors.torch import load_file
from torch import nn

from ganforge.training.compiled import CompiledForward, compile_forward, uncompile
from robust_util import TINY


def train(cli, out, *extra):
    return cli(
        "train", "dcgan", "--steps", "4", "--seed", "3", "--out", out, *TINY, "--json", *extra
    )


def _broken_compile(*args, **kwargs):
    raise RuntimeError("no compiler here\nsecond line")


def test_compile_failure_falls_back_to_eager_with_one_warning(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "compile", _broken_compile)
    rc, out, err = train(cli, tmp_path / "c", "--compile")
    assert rc == 0, err
    warnings = [ln for ln in err.splitlines() if "torch.compile failed" in ln]
    assert len(warnings) == 2  # one line for G, one for D, each once
    assert all(ln.startswith("ganforge: warning:") and "no compiler here" in ln for ln in warnings)
    assert "Traceback" not in err and "second line" not in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["steps"] == 4
    assert (tmp_path / "c" / "checkpoints" / "step-000004.safetensors").is_file()
    # eager fallback computes exactly what an uncompiled run computes
    rc, _, err = train(cli, tmp_path / "e")
    assert rc == 0, err
    a = load_file(tmp_path / "c" / "checkpoints" / "step-000004.safetensors")
    b = load_file(tmp_path / "e" / "checkpoints" / "step-000004.safetensors")
    assert a.keys() == b.keys() and len(a) > 10
    assert all(torch.equal(a[k], b[k]) for k in a)  # only the config metadata differs


def _counting_compile(calls):
    """A stand-in for torch.compile: the function itself, counting its calls in ``calls``."""

    def fake_compile(fn, **_):
        def run(*a, **k):
            calls.append(1)
            return fn(*a, **k)

        return run

    return fake_compile


def test_compiled_forward_uses_compiled_fn_and_keeps_state_dict():
    calls = []
    fake_compile = _counting_compile(calls)
    m = nn.Linear(3, 2)
    keys = list(m.state_dict())
    orig = torch.compile
    torch.compile = fake_compile
    try:
        wrapper = compile_forward(m, "G")
        y = m(torch.ones(1, 3))
    finally:
        torch.compile = orig
    assert isinstance(wrapper, CompiledForward) and not wrapper.failed
    assert calls == [1] and y.shape == (1, 2)
    assert list(m.state_dict()) == keys
    # a deep copy (e.g. the EMA generator) runs its own weights eagerly
    c = copy.deepcopy(m)
    with torch.no_grad():
        c.weight.zero_()
        c.bias.fill_(7.0)
    assert torch.equal(c(torch.ones(1, 3)), torch.full((1, 2), 7.0))
    assert len(calls) == 1
    uncompile(m)
    assert "forward" not in m.__dict__


def test_model_errors_are_not_hidden_by_the_fallback(monkeypatch, capsys):
    monkeypatch.setattr(torch, "compile", _broken_compile)
    m = nn.Linear(3, 2)
    compile_forward(m, "D")
    try:
        m(torch.ones(1, 4))  # wrong width: the eager re-run raises the real error
    except RuntimeError as exc:
        assert "shapes cannot be multiplied" in str(exc)
    else:
        raise AssertionError("a shape error must propagate")
    assert "torch.compile failed for D" in capsys.readouterr().err


def test_penalised_critic_is_not_compiled():
    from ganforge.recipes import get_recipe
    from ganforge.training.compiled import compile_players

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.G, self.D = nn.Linear(2, 2), nn.Linear(2, 1)

    game = G()
    assert [w.name for w in compile_players(game, get_recipe("wgan-gp").config())] == ["G"]
    assert "forward" not in game.D.__dict__
    game = G()
    assert [w.name for w in compile_players(game, get_recipe("dcgan").config())] == ["G", "D"]


class _Clock:
    """A fake clock: each step takes the time the test says its mode takes."""

    def __init__(self, trial, seconds):
        self.trial, self.seconds, self.now, self.started = trial, seconds, 0.0, False

    def __call__(self):
        if self.started:  # end of a step: advance by that mode's duration
            self.now += self.seconds[self.trial.mode()]
        self.started = not self.started
        return self.now


def _run_trial(seconds, steps=3):
    from ganforge.training.compiled import CompileTrial

    calls = []
    g, d = nn.Linear(2, 2), nn.Linear(2, 1)
    orig, torch.compile = torch.compile, _counting_compile(calls)
    try:
        wrappers = [compile_forward(g, "G"), compile_forward(d, "D")]
        trial = CompileTrial(wrappers, steps)
        trial.clock = _Clock(trial, seconds)
        modes, done = [], False
        while not done:
            modes.append(trial.mode())
            trial.start_step()
            d(g(torch.ones(1, 2)))
            done = trial.end_step()
        report = trial.decide(*trial.medians())
        d(g(torch.ones(1, 2)))  # a step after the decision
    finally:
        torch.compile = orig
    return trial, modes, report, len(calls)


def test_compile_trial_keeps_compiled_only_when_faster():
    trial, modes, report, compiled_calls = _run_trial({"compiled": 0.5, "eager": 2.0})
    assert modes == ["compiled"] * 3 + ["eager", "compiled", "eager", "compiled", "eager"]
    assert trial.times == {"compiled": [0.5] * 3, "eager": [2.0] * 3}  # warm-up not timed
    assert trial.decision == "compiled"
    assert report == (
        "ganforge: torch.compile kept (500.0 ms/step compiled vs 2000.0 eager, "
        "medians of 3 steps each)"
    )
    assert compiled_calls == 2 * 5 + 2  # 5 compiled steps x (G, D), then the step after
    trial, _, report, compiled_calls = _run_trial({"compiled": 0.03, "eager": 0.02})
    assert trial.decision == "eager"
    assert report == (
        "ganforge: torch.compile did not help (30.0 ms/step compiled vs 20.0 eager, "
        "medians of 3 steps each); running eagerly"
    )
    assert compiled_calls == 2 * 5  # nothing compiled after the decision
    assert all(w.use_eager and w.compiled is None for w in trial.wrappers)


def _slow_compile(fn, **_):
    import time

    def run(*a, **k):
        time.sleep(0.05)
        return fn(*a, **k)

    return run


def test_compile_that_does_not_help_falls_back_to_eager(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "compile", _slow_compile)
    six = ("--steps", "6")  # 2 warm-up steps, then 2 compiled and 2 eager
    rc, out, err = train(cli, tmp_path / "s", *six, "--compile", "--set", "compile_trial=2")
    assert rc == 0, err
    report = [ln for ln in err.splitlines() if "torch.compile" in ln]
    assert len(report) == 1 and report[0].startswith("ganforge: torch.compile did not help (")
    assert report[0].endswith("medians of 2 steps each); running eagerly")
    compiled_ms = float(report[0].split("(")[1].split(" ms/step")[0])
    assert compiled_ms >= 100  # G and D each slept 50 ms in every compiled step
    assert json.loads((tmp_path / "s" / "config.json").read_text())["compile_trial"] == 2
    # the same weights as an uncompiled run: the trial only changes which forward runs
    rc, _, err = train(cli, tmp_path / "e", *six)
    assert rc == 0, err
    a = load_file(tmp_path / "s" / "checkpoints" / "step-000006.safetensors")
    b = load_file(tmp_path / "e" / "checkpoints" / "step-000006.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # compile_trial=0 keeps the compiled forwards without timing them: no report
    rc, _, err = train(cli, tmp_path / "k", *six, "--compile", "--set", "compile_trial=0")
    assert rc == 0 and "torch.compile" not in err


def test_bf16_training_has_finite_losses(cli, tmp_path):
    rc, out, err = train(cli, tmp_path / "b", "--precision", "bf16", "--set", "log_every=2")
    assert rc == 0, err
    lines = [json.loads(ln) for ln in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [ln["step"] for ln in lines] == [2, 4]
    for ln in lines:
        assert isinstance(ln["d_loss"], float) and isinstance(ln["g_loss"], float)
        assert 0 < ln["d_loss"] < 10 and 0 < ln["g_loss"] < 20
    assert json.loads((tmp_path / "b" / "config.json").read_text())["precision"] == "bf16"


def test_bf16_on_a_cpu_without_native_bf16_warns_once(cli, tmp_path, monkeypatch):
    from ganforge.training import precision

    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    rc, _, err = train(cli, tmp_path / "w", "--steps", "1", "--precision", "bf16")
    assert rc == 0, err
    lines = [
        ln for ln in err.splitlines() if "bf16" in ln and "training " not in ln
    ]  # not the header
    assert len(lines) == 1 and lines[0].startswith("ganforge: warning: this CPU (")
    assert lines[0].endswith("precision=fp32 is faster here")
    rc, _, err = train(cli, tmp_path / "f", "--steps", "1")  # fp32: nothing to say
    assert rc == 0 and "warning" not in err
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    rc, _, err = train(cli, tmp_path / "n", "--steps", "1", "--precision", "bf16")
    assert rc == 0 and "warning" not in err


def test_precision_auto_picks_bf16_only_where_the_cpu_has_it_and_the_run_keeps_it(
    cli, tmp_path, monkeypatch
):
    """The default precision=auto: bf16 autocast on a CPU with native bf16 (said in one line),
    fp32 elsewhere; config.json saves the precision that ran, so a resume on another CPU keeps
    it (byte-identical), and the toy benchmark stays fp32."""
    from ganforge import api
    from ganforge.toy import train_toy
    from ganforge.training import precision

    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    rc, _, err = train(cli, tmp_path / "n", "--steps", "2")
    assert rc == 0, err
    said = [ln for ln in err.splitlines() if "precision=auto" in ln]
    assert said == [
        "ganforge: bf16 autocast (precision=auto: this CPU computes bf16 natively); "
        "--precision fp32 to choose"
    ]
    assert json.loads((tmp_path / "n" / "config.json").read_text())["precision"] == "bf16"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    api.resume(tmp_path / "n", steps=4)
    assert json.loads((tmp_path / "n" / "config.json").read_text())["precision"] == "bf16"
    rc, _, err = train(cli, tmp_path / "e", "--steps", "2")
    assert rc == 0 and "precision=auto" not in err
    assert json.loads((tmp_path / "e" / "config.json").read_text())["precision"] == "fp32"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    cfg = api.make_config("gan", {"dataset": "ring8", "steps": 2, "batch_size": 8})
    assert cfg.precision == "auto"
    seen = []
    monkeypatch.setattr(precision, "autocast", lambda p, d: seen.append(p) or _null())
    train_toy(cfg)
    assert seen and set(seen) == {"fp32"}


def _null():
    import contextlib

    return contextlib.nullcontext()


def test_native_bf16_is_read_from_the_cpu_flags_not_onednn_probe():
    from ganforge.training.precision import cpu_has_native_bf16

    intel_no_bf16 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_vnni\n"
    amd_bf16 = "flags\t\t: fpu avx2 avx512f avx512_bf16\n"
    sapphire = "flags\t\t: avx512f amx_tile amx_bf16\n"
    arm = "Features\t: fp asimd sve bf16 i8mm\n"
    assert cpu_has_native_bf16(intel_no_bf16) is False  # oneDNN's probe says True here
    assert cpu_has_native_bf16(amd_bf16) is True
    assert cpu_has_native_bf16(sapphire) is True
    assert cpu_has_native_bf16(arm) is True
    assert cpu_has_native_bf16("flags\t\t: fpu sse2 avx2\n") is False


def test_fp16_on_cpu_is_refused(cli, tmp_path):
    rc, out, err = train(cli, tmp_path / "h", "--precision", "fp16", "--device", "cpu")
    assert rc == 2
    assert err.strip() == (
        "ganforge: error: precision=fp16 needs a CUDA device; on CPU use precision=bf16"
    )
    assert "Traceback" not in err
    assert not (tmp_path / "h").exists()


def test_threads_key_sets_torch_threads(cli, tmp_path):
    before = torch.get_num_threads()
    try:
        rc, _, err = train(cli, tmp_path / "t", "--set", "threads=1")
        assert rc == 0, err
        assert torch.get_num_threads() == 1
        assert json.loads((tmp_path / "t" / "config.json").read_text())["threads"] == 1
    finally:
        torch.set_num_threads(before)
    rc, _, err = train(cli, tmp_path / "u", "--set", "threads=-1")
    assert rc == 2 and "bad value -1 for 'threads': must be >= 0" in err


def test_adam_uses_the_fused_kernel():
    from ganforge.recipes import get_recipe
    from ganforge.training.trainer import make_optimizer

    opt = make_optimizer(get_recipe("dcgan").config(), nn.Linear(2, 2).parameters(), 1e-3)
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["fused"] is True
    opt = make_optimizer(get_recipe("wgan").config(), nn.Linear(2, 2).parameters(), 1e-3)
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["foreach"] is True


def _game(recipe, **kw):
    from ganforge.games import build_game
    from ganforge.recipes import get_recipe

    cfg = get_recipe(recipe).config(g_width=8, d_width=8, **kw)
    torch.manual_seed(0)
    return build_game(cfg, (1, 28, 28), 10)


def test_independent_critic_sees_real_and_fake_as_one_batch():
    game = _game("gan")  # MLP critic without normalisation
    real, fake = torch.randn(6, 1, 28, 28), torch.randn(6, 1, 28, 28)
    r_out, r_h, f_out, f_h = game._critic_real_fake(real, fake, None, None)
    assert game._joint_critic is True
    assert r_out.shape == f_out.shape == (6,) and r_h.shape[0] == f_h.shape[0] == 6
    torch.testing.assert_close(r_out, game.critic(real)[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(f_out, game.critic(fake)[0], rtol=1e-5, atol=1e-6)
    game = _game("wgan-gp", conditioning="concat")  # LayerNorm: per sample, labels concatenated
    y1, y2 = torch.arange(6) % 10, (torch.arange(6) + 3) % 10
    r_out, _, f_out, _ = game._critic_real_fake(real, fake, y1, y2)
    assert game._joint_critic is True
    torch.testing.assert_close(f_out, game.critic(fake, y2)[0], rtol=1e-5, atol=1e-5)


def test_batchnorm_or_spectral_norm_critic_keeps_separate_batches():
    for game in (_game("dcgan"), _game("hinge-sn")):
        calls: list[int] = []
        game.D.register_forward_hook(lambda m, i, o, calls=calls: calls.append(i[0].shape[0]))
        game._critic_real_fake(torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28), None, None)
        assert game._joint_critic is False and calls == [4, 4]


def test_flatten_keeps_the_gradient_in_channels_last():
    from ganforge.models.layers import Flatten

    x = torch.randn(3, 4, 5, 5).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    w = torch.randn(100)
    y = Flatten()(x)
    torch.testing.assert_close(y, x.detach().flatten(1))  # NCHW order: weights interchangeable
    (grad,) = torch.autograd.grad((y * w).sum(), x, create_graph=True)
    assert grad.is_contiguous(memory_format=torch.channels_last) and not grad.is_contiguous()
    torch.testing.assert_close(grad, w.expand(3, 100).reshape(3, 4, 5, 5))
    # differentiable twice (gradient penalties): d/dx of sum(grad * x) = grad
    (g2,) = torch.autograd.grad((grad * x).sum(), x)
    torch.testing.assert_close(g2, grad.detach())
    nchw = torch.randn(2, 3, 4, 4, requires_grad=True)
    (g,) = torch.autograd.grad((Flatten()(nchw) * torch.randn(48)).sum(), nchw)
    assert g.is_contiguous()


def test_dcgan_keeps_one_memory_format_through_generator_and_critic():
    game = _game("dcgan").to(memory_format=torch.channels_last)
    grads: list[torch.Tensor] = []
    for net in (game.G.net, game.D.net.body):
        for m in net:
            if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
                m.register_forward_hook(lambda m, i, o: o.register_hook(grads.append) and None)
    fake = game.G(torch.randn(4, game.cfg.z_dim))
    game.D(fake)[0].sum().backward()
    assert len(grads) == 3  # G's ReLU after the projection, D's two LeakyReLUs (28 px)
    for g in grads:
        assert g.is_contiguous(memory_format=torch.channels_last) and not g.is_contiguous()


def test_only_the_last_critic_step_records_the_generator_graph():
    game = _game("wgan-gp")
    batch = (torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8), None)
    loss, _, fakes = game.d_loss(batch, 0, keep_fakes=False)
    assert fakes is None and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is None for p in game.G.parameters())
    fake = game.d_loss(batch, 0, keep_fakes=True).fakes[0]
    assert fake.requires_grad and fake.grad_fn is not None
