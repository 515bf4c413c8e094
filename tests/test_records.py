"""The run's data contract (simulations.records): keys, roles and shapes of errors.npz and metrics.json."""

import numpy as np
import pytest

from simulations import records
from simulations.records import Errors, Role


def test_keys_split_back_into_curve_and_method():
    assert records.key({"m": 2, "V": 4}, "icl_risk_max") == "m=2,V=4/icl_risk_max"
    assert records.split(records.key({"d": 4}, "icl")) == ("d=4", "icl")
    for bad in ("icl", "d=4/", "d=4/a/b"):
        with pytest.raises(ValueError, match="<curve>/<method>"):
            records.split(bad)


def test_method_names_and_roles():
    refs = ("bayes", "logistic")
    names = {
        "icl": Role.ICL,
        "icl_kl": Role.ICL,
        "icl_risk_max": Role.ICL,
        records.halfway("icl_risk_max"): Role.HALFWAY,
        records.finetuned("icl_risk"): Role.FINETUNED,
        records.VERSUS: Role.FINETUNED,
        records.compared("ridge"): Role.DISTANCE,
        records.learner("bayes", "icl_risk"): Role.REFERENCE,
        "logistic": Role.REFERENCE,
        "max_margin": Role.BASELINE,
    }
    assert list(names)[3:8] == ["halfway_risk_max", "finetune_risk", "icl_vs_finetune", "icl_to_ridge", "bayes_risk"]
    assert {n: records.role(n, refs) for n in names} == names
    metrics = {n: records.metric(n, {"kl": "KL"}) for n in ("icl_risk_kl", "icl_to_ridge", "icl_risk", "ridge")}
    assert metrics == {"icl_risk_kl": "kl", "icl_to_ridge": "prediction distance", "icl_risk": None, "ridge": None}


def test_errors_by_curve_and_method():
    a, b = np.zeros((2, 3, 5)), np.ones((3, 5))
    errors = Errors.of_curves({"d=2": {"icl": a, "ridge": b}, "d=4": {"icl": a}})
    assert list(errors) == ["d=2/icl", "d=2/ridge", "d=4/icl"] and errors.curves() == ["d=2", "d=4"]
    assert errors.method({"d": 2}, "ridge") is b and errors.get_method({"d": 4}, "ridge") is None
    assert list(errors.methods({"d": 2})) == ["icl", "ridge"]
    with pytest.raises(KeyError, match="no 'd=4/ridge'"):
        errors.method({"d": 4}, "ridge")
