"""Config dataclasses validate themselves, and a run written by other code is never silently reused."""

import argparse
import dataclasses
import json

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulations import problem
from simulations.config import SCHEMA, EvalConfig, ModelConfig, RunConfig, TrainConfig, code_version
from simulations.fields import assignments
from simulations.presets import preset
from simulations.run import load_run, simulate
from simulations.tasks import Halfspaces, LinearRegression, NextToken
from simulations.tasks.base import tuples

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

    def stop(*args, **kwargs):
        raise KeyboardInterrupt  # after simulate wrote config.json: what follows needs no trained run

    with monkeypatch.context() as mp:
        mp.setattr("simulations.run.train", stop)
        with pytest.raises(KeyboardInterrupt):
            simulate(cfg, tmp_path, progress=False)
    (tmp_path / "metrics.json").write_text("{}")  # as a finished run
    np.savez(tmp_path / "errors.npz")
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


# A valid value, unlike the quick preset's, for every field of every section (task fields per family).
SET_VALUES = {
    "model": {
        "depth": 2,
        "width": 32,
        "heads": 2,
        "mlp_ratio": 2,
        "positions": "rope",
        "attention": "bidirectional",
        "dtype": "bfloat16",
    },
    "train": {
        "steps": 10,
        "batch": 8,
        "lr": 1e-4,
        "warmup": 5,
        "weight_decay": 0.0,
        "clip": 0.5,
        "seeds": 3,
        "checkpoint_every": 5,
        "curriculum": True,
        "curriculum_examples": True,
        "micro_batches": 2,
        "remat": True,
    },
    "eval": {
        "tasks": 300,
        "bootstrap": 200,
        "finetune_tasks": 12,
        "finetune_steps": 20,
        "finetune_lrs": [1e-3],
        "finetune_validation": 6,
        "risk_tasks": 128,
        "risk_queries": 32,
        "chunk": 64,
        "risk_chunk": 8,
        "finetune_chunk": 4,
        "prefix_batch": 16,
    },
    "classification": {
        **{"n_max": 20, "train_n_max": 8, "pool": 64, "dims": [2, 5], "pairs": True, "label_noise": 0.1},
        **{"bayes_chains": 11, "bayes_steps": 30},
    },
    "tokens": {"n_max": 20, "train_n_max": 8, "pool": 64, "families": [[3, 3]], "alpha": 0.5},
    "regression": {"n_max": 20, "train_n_max": 8, "pool": 64, "dims": [4], "pairs": True, "noise_var": 0.5},
}


@pytest.mark.parametrize("kind", ["classification", "tokens", "regression"])
def test_every_config_field_is_reachable_by_set(kind):
    """Walks the config dataclasses: `simulate --set section.field=value` reaches every field of every section,
    typed and validated by the dataclass (an out-of-range value names the field)."""
    from iclverify.cli import build_parser, simulation_config

    base = preset(kind)
    sections = {"task": kind, "model": "model", "train": "train", "eval": "eval"}
    for section, table in sections.items():
        fields = {f.name for f in dataclasses.fields(getattr(base, section)) if f.init}
        assert fields == set(SET_VALUES[table]), f"a {section} field has no test value"
        for name, value in SET_VALUES[table].items():
            argv = ["simulate", kind, "--out", "x", "--set", f"{section}.{name}={json.dumps(value)}"]
            cfg = simulation_config(build_parser().parse_args(argv))
            got, before = getattr(getattr(cfg, section), name), getattr(getattr(base, section), name)
            assert got == tuples(value) and got != before, (section, name)
    cfg = simulation_config(build_parser().parse_args(["simulate", kind, "--out", "x", "--set", "seed=7"]))
    assert cfg.seed == 7 and cfg.task == base.task


def test_every_config_field_is_documented_with_its_presets():
    """Each field of the config sections, the built-in task families and the seed says what it does (dataclass
    metadata, read by docs/config.md and the simulate flags' help), and the presets' values are listed."""
    from iclverify.cli import build_parser
    from simulations.config import RunConfig
    from simulations.fields import BUILT_IN, SECTIONS, field_doc, preset_values, shortcuts

    classes = [*SECTIONS.values(), *BUILT_IN.values()]
    missing = [
        (c.__name__, f.name) for c in classes for f in dataclasses.fields(c) if len(f.metadata.get("doc", "")) < 10
    ]
    assert not missing and RunConfig.__dataclass_fields__["seed"].metadata["doc"]
    assert (
        field_doc("task", "dims")
        == "classification, regression: " + BUILT_IN["regression"].__dataclass_fields__["dims"].metadata["doc"]
    )
    assert preset_values("model", "width") == "quick 64; standard 64; full 256; long 256"
    noise = "quick 0.25 (regression); standard 0.25 (regression); full 0.25 (regression)"
    assert preset_values("task", "noise_var") == noise
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    text = " ".join(sub.choices["simulate"].format_help().split())
    flagged = {
        (s, f.name)
        for s, c in [*SECTIONS.items(), *[("task", c) for c in BUILT_IN.values()]]
        for f in dataclasses.fields(c)
        if "flag" in f.metadata
    }
    assert {(s.section, s.name) for s in shortcuts()} == flagged and len(flagged) == 21
    for short in shortcuts():  # every field documented with a flag is one, its help the field's documentation
        assert f"{short.flag} " in text and f"{short.section}.{short.name}: " in text, short
    assert "model.depth: pre-norm transformer blocks (presets: quick 3; standard 3; full 6; long 6)" in text


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("train.warmup=-1", "warmup must be an integer >= 0"),
        ("model.widht=128", "model have no field 'widht'; fields: attention, depth"),
        ("trian.steps=5", "section one of task, model, train, eval"),
        ("train.steps", "--set takes section.field=value"),
        ("eval.risk_tasks=999", "risk_tasks must be an integer in [2, tasks = 256]"),
        ("model.positions=sinusoidal", "positions must be one of"),
    ],
)
def test_bad_set_is_one_line_naming_the_field(assignment, message, capsys, tmp_path):
    from iclverify.cli import main

    assert main(["simulate", "classification", "--out", str(tmp_path), "--set", assignment]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_saved_config_reruns_by_config(tmp_path, capsys):
    """A run's config.json (with its hash and versions) is a complete run: --config reproduces the same config
    and therefore the same run directory name; flags and --set still apply on top."""
    from iclverify.cli import build_parser, simulation_config

    cfg = preset("tokens").assign(assignments(["train.steps=40", "model.width=32"]))
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps(cfg.to_dict() | {"config_hash": cfg.hash} | code_version()))
    again = simulation_config(build_parser().parse_args(["simulate", "--config", str(saved), "--out", "y"]))
    assert again == cfg and again.hash == cfg.hash
    changed = simulation_config(
        build_parser().parse_args(["simulate", "--config", str(saved), "--out", "y", "--set", "train.lr=1e-4"])
    )
    assert changed.train.lr == 1e-4 and changed.model.width == 32
    for argv, message in [
        (["simulate", "classification", "--config", str(saved)], "holds a tokens run"),
        (["simulate", "--config", str(saved), "--preset", "full"], "exclude each other"),
        (["simulate", "--config", str(tmp_path / "missing.json")], "missing.json"),
        (["simulate"], "needs a task"),
    ]:
        from iclverify.cli import main

        assert main([*argv, "--out", str(tmp_path / "z")]) == 2
        assert message in capsys.readouterr().err
