"""Bounded context: selection policies, capacity, the window and fixed-context experiments and their verdicts."""

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from iclverify import verdicts as V
from simulations import context
from simulations.config import EvalConfig, RunConfig
from simulations.presets import LENGTH
from simulations.run import Run
from simulations.tasks import NextToken

KEY = jax.random.PRNGKey(0)


def test_capacity_is_two_tokens_per_example_plus_the_query():
    assert [context.capacity(t) for t in (1, 2, 3, 33, 65)] == [0, 0, 1, 16, 32]
    with pytest.raises(ValueError, match="window must be"):
        context.capacity(0)


@pytest.mark.parametrize("policy", context.POLICIES)
@pytest.mark.parametrize("k", [0, 1, 5, 20])
def test_select_respects_capacity(policy, k):
    c = jax.random.randint(KEY, (20,), 0, 3)
    idx = np.asarray(context.select(policy, jax.random.PRNGKey(1), c, jnp.asarray(1), k))
    assert idx.shape == (k,) and len(set(idx.tolist())) == k and ((0 <= idx) & (idx < 20)).all()


def test_retrieval_returns_exactly_the_query_contexts_examples():
    c = jnp.array([0, 2, 1, 2, 2, 0, 1, 2])
    idx = context.select("retrieval", KEY, c, jnp.asarray(2), 3)
    assert idx.tolist() == [1, 3, 4]  # the first three examples of context 2, in dataset order
    idx = context.select("retrieval", KEY, c, jnp.asarray(1), 4)
    assert idx[:2].tolist() == [2, 6] and set(idx[2:].tolist()) <= {0, 1, 3, 4, 5, 7}  # both matches, then others
    assert (np.asarray(c)[np.asarray(context.order("retrieval", KEY, c, jnp.asarray(2)))][:4] == 2).all()


def test_retrieval_for_inputs_is_nearest_first():
    x = jax.random.normal(KEY, (50, 3))
    q = jnp.array([0.3, -0.2, 1.0])
    idx = context.select("retrieval", KEY, x, q, 7)
    expected = np.argsort(((np.asarray(x) - np.asarray(q)) ** 2).sum(1), kind="stable")[:7]
    assert idx.tolist() == expected.tolist()


def test_random_and_recent():
    c = jnp.arange(10)
    assert sorted(context.order("random", KEY, c, jnp.asarray(0)).tolist()) == list(range(10))
    assert context.order("random", KEY, c, 0).tolist() != list(range(10))
    assert context.select("recent", KEY, c, 0, 3).tolist() == [9, 8, 7]
    with pytest.raises(ValueError, match="policy must be one of"):
        context.order("nearest", KEY, c, 0)
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 10\]"):
        context.select("random", KEY, c, 0, 11)


def test_training_length_is_separate_from_the_position_table():
    cfg = LENGTH["quick"]["learned"]
    assert cfg.task.train_n_max * 4 == cfg.task.n_max and cfg.training.task.n_max == cfg.task.train_n_max
    plain = RunConfig(NextToken()).to_dict()
    del plain["task"]["train_n_max"], plain["task"]["pool"]  # a config.json written before these fields existed
    assert RunConfig.from_dict(plain) == RunConfig(NextToken())
    assert RunConfig.from_dict(cfg.to_dict()) == cfg


# ---- verdicts on synthetic data ----------------------------------------------------------------------------------
def fixed_data(offset: float = 0.0, units: int = 400, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.4, size=(2, units // 2))
    holdout = (rng.random((2, units // 2, 512)) < p[..., None]).astype(np.float32)
    return {"holdout": holdout, "true_error": p + offset}


def test_fixed_context_coverage_holds_for_an_honest_estimate_and_fails_for_a_biased_one():
    rows = V.fixed_context_verdicts(fixed_data())
    assert {r.claim for r in rows} == {V.FIXED, "hoeffding"}
    assert all(r.verdict == "consistent" for r in rows)
    assert all(r.params["n"] <= 512 for r in rows)
    rows = V.fixed_context_verdicts(fixed_data(offset=0.12))  # a 'true error' off by more than eps
    assert all(r.verdict == "inconsistent" for r in rows)


def window_data(exponent_in_m: float, policies=("random", "retrieval"), retrieval: float = 0.0) -> dict:
    """TV ~ 0.5 * sqrt(m^a / k): the window needed grows like m^a (a = `retrieval` with retrieval)."""
    rng = np.random.default_rng(1)
    k = np.maximum(np.arange(33), 1)
    out = {}
    for m in (1, 2, 4):
        for policy in policies:
            a = exponent_in_m if policy == "random" else retrieval
            mean = np.minimum(0.6, 0.5 * np.sqrt(m**a / k))
            out[f"m={m}/{policy}"] = mean * rng.lognormal(-0.02, 0.2, size=(2, 200, 33))
    return out


def test_window_verdicts_follow_the_reading():
    rows = {r.check: r for r in V.window_verdicts(window_data(1.0), (1, 2, 4), 4)}
    assert rows["window scaling in m, random"].verdict == "consistent"
    assert rows["window scaling in m, retrieval"].verdict == "consistent"
    assert "holds" in rows and rows["holds"].claim == V.BOUNDED
    assert rows["window scaling in m, retrieval"].kind == "falsifiable"
    assert rows["window scaling in m, random"].kind == "sanity"
    rows = {r.check: r for r in V.window_verdicts(window_data(1.0, retrieval=1.0), (1, 2, 4), 4)}
    assert rows["window scaling in m, retrieval"].verdict == "inconsistent"  # retrieval that grows with m


def length_run(kept: float) -> Run:
    """Risk falls like 1/sqrt(N) up to T = 8, then follows `kept` of the further gain (or rises if kept < 1)."""
    cfg = dataclasses.replace(LENGTH["quick"]["rope"], eval=EvalConfig(tasks=100, risk_tasks=100, finetune_tasks=8))
    cfg = dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, n_max=32, train_n_max=8))
    n = np.maximum(np.arange(33), 1)
    mean = 0.6 / np.sqrt(n)
    mean[9:] = mean[8] + (mean[9:] - mean[8]) * kept if kept >= 0 else mean[8] - kept * (n[9:] - 8) / 100
    rng = np.random.default_rng(2)
    units = mean * rng.lognormal(-0.005, 0.1, size=(2, 100, 33))
    return Run(Path("synthetic"), cfg, {}, {"m=2,V=4/icl_risk": units}, {})


def test_length_verdicts():
    good = {r.params["N"]: r for r in V.length_verdicts({"rope": length_run(1.0)})}
    assert set(good) == {16, 32} and all(r.verdict == "consistent" for r in good.values())
    bad = V.length_verdicts({"learned": length_run(-5.0)})  # the error rises past T
    assert all(r.verdict == "inconsistent" for r in bad)


# ---- long context: position schemes, the pairs layout, the experiment ----------------------------------------------
def _encoder_prediction(cfg, features, n):
    from simulations import problem

    model = problem.init_model(cfg, jax.random.PRNGKey(0))
    mask = problem.bidirectional_mask(cfg, 2 * n + 1, jnp.asarray(n))
    return model(features[: 2 * n + 1], mask, read=jnp.asarray([2 * n]))[0]


@pytest.mark.parametrize("pairs", [False, True])
def test_an_encoder_without_positions_cannot_bind_labels_placed_apart_and_rope_can(pairs):
    """Without positions a bidirectional encoder sees a set of tokens: permuting whole examples changes nothing;
    in the pairs layout, where each label sits in a token of its own, permuting the labels alone (re-pairing them
    with other inputs) changes nothing either -- so that layout needs positions. RoPE sees the re-pairing."""
    from simulations.config import ModelConfig
    from simulations.tasks.regression import LinearRegression

    n = 6
    task = LinearRegression(n_max=n, dims=(3,), pairs=pairs)
    base = RunConfig(task, ModelConfig(depth=2, width=16, heads=2, positions="none", attention="bidirectional"))
    t = task.sample(KEY, jnp.asarray(0))
    perm = jnp.array([3, 0, 5, 1, 4, 2, 6])  # the query (index n) stays last
    x, y = t["x"], t["y"]
    whole = task.prompt(x[perm], y[perm])  # examples permuted with their labels
    relabelled = task.prompt(x, y[perm])  # inputs kept, labels re-paired
    if pairs:
        assert not jnp.any(t["features"][1::2, :3])  # a demonstration holds its label alone
    same = _encoder_prediction(base, t["features"], n)
    np.testing.assert_allclose(_encoder_prediction(base, whole, n), same, rtol=1e-5, atol=1e-6)
    if pairs:
        np.testing.assert_allclose(_encoder_prediction(base, relabelled, n), same, rtol=1e-5, atol=1e-6)
        rope = dataclasses.replace(base, model=dataclasses.replace(base.model, positions="rope"))
        a, b = _encoder_prediction(rope, t["features"], n), _encoder_prediction(rope, relabelled, n)
        assert not np.allclose(a, b, atol=1e-6)


def test_long_context_command_trains_evaluates_and_resumes(tmp_path):
    """The tiny preset end to end (one position scheme, to stay quick): rows for both tasks, the figure, the curves;
    a rerun reuses the finished runs; a bad scheme is one line."""
    import json
    import subprocess
    import sys

    from iclverify.cli import UsageError, build_parser
    from simulations import longcontext

    cmd = [sys.executable, "-m", "iclverify", "long-context", "--preset", "tiny", "--schemes", "none"]
    out = subprocess.run([*cmd, "--out", str(tmp_path), "--json"], check=True, capture_output=True, text=True)
    checks = [r["check"] for r in json.loads(out.stdout)["rows"]]
    for name in ("tokens, none", "regression-pairs, none"):
        assert any(c.startswith(f"long context, {name} positions: gain kept at N = 8 (17 tokens)") for c in checks)
        assert any(c.startswith(f"long context, {name} positions: ICL / ") for c in checks), name
    assert (tmp_path / "long_context.png").stat().st_size > 10_000
    curves = json.loads((tmp_path / "long_context.json").read_text())
    assert curves["tokens/none"]["n"] == [0, 1, 2, 4, 8, 16] and curves["regression-pairs/none"]["trained"] == 4
    said = []
    assert longcontext.run(tmp_path, "tiny", schemes=("none",), say=said.append) == curves  # reused, not retrained
    assert said == [f"{name}: reused {tmp_path / name.replace('/', '-') / 'longcontext.json'}" for name in curves]
    with pytest.raises(UsageError, match="--schemes: must be a comma-separated list of rope and none"):
        build_parser().parse_args(["long-context", "--schemes", "learned"])
