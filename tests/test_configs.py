"""Config dataclasses validate themselves, and a run written by other code is never silently reused."""

import dataclasses
import json

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulations import problem
from simulations.config import SCHEMA, EvalConfig, ModelConfig, RunConfig, TrainConfig
from simulations.run import load_run, simulate
from simulations.tasks import Halfspaces, LinearRegression, NextToken

SMALL_INT = st.integers(-3, 12)
REAL = st.one_of(st.floats(-1.0, 2.0), st.sampled_from([0.0, 1e-6, float("nan"), float("inf")]))


def build(make):
    """The object, or the ValueError it was refused with (which must name one of its fields)."""
    try:
        return make()
    except ValueError as err:
        return err


tasks = st.one_of(
    st.builds(
        lambda n, dims, noise: lambda: Halfspaces(n_max=n, dims=dims, label_noise=noise),
        SMALL_INT,
        st.lists(SMALL_INT, max_size=3).map(tuple),
        REAL,
    ),
    st.builds(
        lambda n, fams, alpha: lambda: NextToken(n_max=n, families=fams, alpha=alpha),
        SMALL_INT,
        st.lists(st.tuples(SMALL_INT, SMALL_INT), max_size=3).map(tuple),
        st.one_of(REAL, st.sampled_from([1e-4, 0.01, 0.1, 0.5])),
    ),
    st.builds(
        lambda n, dims, nv: lambda: LinearRegression(n_max=n, dims=dims, noise_var=nv),
        SMALL_INT,
        st.lists(SMALL_INT, max_size=3).map(tuple),
        REAL,
    ),
)
models = st.builds(
    lambda depth, width, heads, pos: lambda: ModelConfig(depth=depth, width=width, heads=heads, positions=pos),
    st.integers(0, 2),
    st.sampled_from([0, 3, 4, 6, 8]),
    st.integers(0, 4),
    st.sampled_from(["learned", "rope", "sinusoid"]),
)
evals = st.builds(
    lambda t, r, f: lambda: EvalConfig(tasks=t, risk_tasks=r, finetune_tasks=f),
    SMALL_INT,
    SMALL_INT,
    SMALL_INT,
)
FIELDS = {
    f.name
    for cls in (Halfspaces, NextToken, LinearRegression, ModelConfig, EvalConfig)
    for f in dataclasses.fields(cls)
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks, models, evals)
def test_every_config_either_runs_or_is_refused_naming_the_field(make_task, make_model, make_eval):
    """A drawn config is refused with a ValueError that names a field, or its prompts, model and loss work: the
    loss on a batch is finite (no broadcasting, reshape or division errors, no NaN from the samplers)."""
    parts = [build(make_task), build(make_model), build(make_eval)]
    errors = [p for p in parts if isinstance(p, ValueError)]
    for err in errors:
        assert str(err).split(" ")[0] in FIELDS, err
    if errors:
        return
    task, model, ev = parts
    cfg = RunConfig(dataclasses.replace(task, n_max=min(task.n_max, 4)), model, TrainConfig(batch=4), ev)
    key = jax.random.PRNGKey(0)
    batch = problem.sample_batch(cfg, key, 4, len(task.curves))
    value = problem.loss(cfg, problem.init_model(cfg, key), batch, key)
    assert np.isfinite(float(value))


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Halfspaces(dims=(0,)), "dims"),
        (lambda: Halfspaces(dims=(-3,)), "dims"),
        (lambda: Halfspaces(n_max=0), "n_max"),
        (lambda: ModelConfig(width=8, heads=3), "width"),
        (lambda: ModelConfig(width=12, heads=4, positions="rope"), "width / heads"),
        (lambda: EvalConfig(tasks=64, finetune_tasks=8, risk_tasks=256), "risk_tasks"),
        (lambda: EvalConfig(tasks=64, finetune_tasks=128, risk_tasks=64), "finetune_tasks"),
        (lambda: NextToken(alpha=1e-3), "alpha"),
        (lambda: NextToken(families=((2, 1),)), "families"),
        (lambda: TrainConfig(lr=0.0), "lr"),
        (lambda: TrainConfig(steps=2.5), "steps"),
    ],
)
def test_the_issues_examples_are_refused(make, field):
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        make()


def test_a_run_written_by_other_code_is_refused(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_simulations import tiny

    cfg = tiny("regression")
    simulate(cfg, tmp_path, progress=False)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["schema"] == SCHEMA and "iclverify_version" in stored
    assert load_run(tmp_path).cfg == cfg
    for change in ({"schema": SCHEMA - 1}, {"iclverify_version": "0.0.1"}):
        (tmp_path / "config.json").write_text(json.dumps(stored | change))
        for attempt in (lambda: load_run(tmp_path), lambda: simulate(cfg, tmp_path, progress=False)):
            with pytest.raises(ValueError, match=r"written by iclverify .* \(schema .*\); this is iclverify"):
                attempt()
    # the identity includes the code: another schema is another run
    monkeypatch.setattr("simulations.config.SCHEMA", SCHEMA + 1)
    assert cfg.hash != json.loads(json.dumps(stored))["config_hash"]
