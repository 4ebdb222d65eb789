"""Suite TOML files: the built-in suites load, and bad files fail naming the file and the key."""

import pytest

from benchmarks.suite import SuiteError, builtin_suites, load_suite, parse_suite

MINIMAL = {"datasets": [{"source": "default"}], "models": [{"spec": "zero"}]}


def test_builtin_suites_load():
    assert {"quick", "paper"} <= set(builtin_suites())
    quick = load_suite("quick")
    assert quick.name == "quick" and quick.datasets[0].source == "default"
    names = [m.name for m in quick.models]
    assert {"zero", "ADAPT tiny", "MACE", "CHGNet", "MatterSim 1M"} <= set(names)
    adapt = next(m for m in quick.models if m.name == "ADAPT tiny")
    assert [j.kind for j in adapt.train] == ["adapt-force", "adapt-energy"]
    assert quick.relax.options["fmax"] == 0.01


def test_paper_suite_has_the_ablations():
    paper = load_suite("paper")
    groups = {m.group for m in paper.models}
    assert {"main", "energy_architectures", "attention_radius"} <= groups
    archs = {
        j.options.get("arch")
        for m in paper.models
        if m.group == "energy_architectures"
        for j in m.train
    }
    assert archs == {"mlp_residual", "mlp", "decoder"}
    specs = {m.spec for m in paper.models}
    assert {"mattersim:1M", "mattersim:5M"} <= specs


def test_suite_file_round_trip(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        """
name = "mine"
seed = 3
[[datasets]]
source = "/data/x"
selections = ["early:2", "final"]
[[models]]
spec = "zero"
[[models]]
name = "A"
train.adapt-force = { preset = "tiny", epochs = 2, attention_radius = 4.0 }
[relax]
max_steps = 7
max_trajectories = 2
[timing]
sizes = [1]
scaling = [1, 2]
"""
    )
    s = load_suite(path)
    assert s.name == "mine" and s.seed == 3
    assert s.datasets[0].name == "x" and s.datasets[0].selections == ("early:2", "final")
    job = s.models[1].train[0]
    assert job.epochs == 2 and job.options == {"attention_radius": 4.0}
    assert s.models[1].data == "x"
    assert s.relax.max_trajectories == 2 and s.relax.options == {"max_steps": 7}
    assert s.timing.scaling == (1, 2)


@pytest.mark.parametrize(
    "patch, where",
    [
        ({"datasets": []}, "datasets"),
        ({"models": [{"spec": "nope"}]}, "models[0].spec"),
        ({"models": [{"spec": "zero", "train": {"mace": {}}}]}, "models[0]"),
        ({"models": [{"train": {"mace": {"epochs": "x"}}}]}, "models[0].train.mace.epochs"),
        ({"models": [{"train": {"adapt-forces": {}}}]}, "models[0].train.adapt-forces"),
        ({"models": [{"spec": "zero"}, {"spec": "zero"}]}, "models"),
        ({"relax": {"fmaxx": 0.1}}, "relax.fmaxx"),
        ({"relax": {"optimizer": "SGD"}}, "relax"),
        ({"timing": {"sizes": [0]}}, "timing.sizes"),
        ({"datasets": [{"source": "default", "splits": ["testing"]}]}, "datasets[0].splits"),
        ({"datasets": [{"source": "default", "selections": ["late"]}]}, "datasets[0].selections"),
        ({"device": "tpu"}, "device"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_suites_name_file_and_key(patch, where):
    with pytest.raises(SuiteError) as err:
        parse_suite(MINIMAL | patch, source="bad.toml")
    assert str(err.value).startswith(f"bad.toml: {where}"), str(err.value)


def test_invalid_toml_and_unknown_suite(tmp_path):
    bad = tmp_path / "x.toml"
    bad.write_text("name = [")
    with pytest.raises(SuiteError, match="x.toml: not valid TOML"):
        load_suite(bad)
    with pytest.raises(SuiteError, match="no built-in suite 'nosuch'"):
        load_suite("nosuch")


def test_with_models_selects_and_adds():
    quick = load_suite("quick")
    s = quick.with_models(["zero", "ADAPT tiny", "sevennet"])
    assert [m.name for m in s.models] == ["zero", "ADAPT tiny", "sevennet"]
    assert s.models[2].data == quick.datasets[0].name
    with pytest.raises(SuiteError, match="--models nope"):
        quick.with_models(["nope"])


@pytest.mark.parametrize(
    "train, where",
    [
        ({"adapt-force": {"preset": "huge"}}, "models[0].train.adapt-force"),
        ({"adapt-energy": {"arch": "lstm"}}, "models[0].train.adapt-energy"),
        ({"adapt-force": {"colour": 1}}, "models[0].train.adapt-force"),
        ({"mace": {"preset": "huge"}}, "models[0].train.mace.preset"),
        ({"mace": {"lr": 0.1}}, "models[0].train.mace"),
    ],
)
def test_trainer_settings_are_checked_at_load(train, where):
    with pytest.raises(SuiteError) as err:
        parse_suite(MINIMAL | {"models": [{"train": train}]}, source="bad.toml")
    assert str(err.value).startswith(f"bad.toml: {where}"), str(err.value)
