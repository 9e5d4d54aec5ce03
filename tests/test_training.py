"""The recipes, the schedule, and that training learns, repeats exactly and logs one line per epoch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.recipes import RECIPES
from mnist_ann.training import learning_rate_schedule


def test_cosine_schedule_warms_up_to_the_peak_then_decays_to_zero():
    recipe = RECIPES["fast"]
    schedule = learning_rate_schedule(recipe, train_size=54_000)
    per_epoch = math.ceil(54_000 / recipe.batch_size)
    warmup, steps = recipe.warmup_epochs * per_epoch, recipe.epochs * per_epoch
    assert recipe.warmup_epochs >= 1 and float(schedule(0)) == 0.0
    assert float(schedule(warmup / 2)) == pytest.approx(recipe.learning_rate / 2, rel=1e-3)
    assert float(schedule(warmup)) == pytest.approx(recipe.learning_rate)
    assert float(schedule((warmup + steps) / 2)) == pytest.approx(recipe.learning_rate / 2, rel=1e-3)
    assert float(schedule(steps)) == pytest.approx(0.0, abs=1e-9)
    assert learning_rate_schedule(RECIPES["original"], 54_000) == 1e-3


def test_a_run_cut_to_one_epoch_still_warms_up_and_decays():
    recipe = RECIPES["fast"].changed(epochs=1)  # what --epochs 1 trains
    schedule = learning_rate_schedule(recipe, train_size=5_000)  # 5 steps
    assert float(schedule(0)) == 0.0 and float(schedule(2)) == pytest.approx(recipe.learning_rate)
    assert float(schedule(5)) == pytest.approx(0.0, abs=1e-9)


def _tiny_data(n_train=400, n_test=100):
    return synthetic_digits(n_train, seed=1), synthetic_digits(n_test, seed=2)


def test_train_takes_the_training_split_and_holds_out_its_last_tenth(monkeypatch):
    seen = {}
    real_fit = mnist_ann.training.fit

    def spy(model, fit_split, val_split, *args, **kwargs):
        seen["fit"], seen["val"] = len(fit_split[0]), len(val_split[0])
        return real_fit(model, fit_split, val_split, *args, **kwargs)

    monkeypatch.setattr(mnist_ann.training, "fit", spy)
    (x, y), _ = _tiny_data()
    mnist_ann.train(x, y, RECIPES["fast"].changed(epochs=1), verbose=0)
    assert seen == {"fit": 360, "val": 40}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_each_recipe_trains_on_tiny_data_and_keeps_the_architecture(name):
    (x, y), _ = _tiny_data()
    model, history, seconds = mnist_ann.train(x, y, RECIPES[name].changed(epochs=1), seed=0, verbose=0)
    assert model.count_params() == 104_938
    assert len(history.history["loss"]) == 1 and "val_accuracy" in history.history
    assert int(model.optimizer.iterations) == math.ceil(360 / RECIPES[name].batch_size)  # the recipe's batches


def test_training_learns_and_repeats_exactly_with_the_same_seed():
    (x, y), (x_test, y_test) = _tiny_data()
    runs = []
    for _ in range(2):
        model, history, _ = mnist_ann.train(x, y, RECIPES["fast"].changed(epochs=3), seed=3, verbose=0)
        runs.append((history.history, [w.copy() for w in model.get_weights()]))
    assert runs[0][0] == runs[1][0]
    assert len(runs[0][1]) == len(runs[1][1]) == 6  # kernel and bias of three layers
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    predicted = model.predict(mnist_ann.preprocess(x_test), verbose=0).argmax(axis=1)
    assert (predicted == y_test).mean() > 0.9  # the synthetic classes are easy; chance is 0.1


def test_compact_log_prints_one_line_per_epoch(capsys):
    (x, y), _ = _tiny_data()
    mnist_ann.train(x, y, RECIPES["fast"].changed(epochs=2), seed=0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2  loss ") and "val_accuracy" in lines[1]


def test_a_recipe_changed_keeps_what_is_none_and_refuses_unknown_settings():
    fast = RECIPES["fast"]
    assert fast.changed(epochs=None, learning_rate=None) == fast
    assert fast.changed(epochs=3).epochs == 3 and fast.changed(epochs=3).batch_size == fast.batch_size
    with pytest.raises(ValueError, match="a recipe has no setting 'epoch'; it has: name, description, epochs"):
        fast.changed(epoch=3)


def test_fit_trains_on_the_plain_cross_entropy():
    (x, y), _ = _tiny_data()
    model = mnist_ann.train(x, y, RECIPES["fast"].changed(epochs=1), seed=0, verbose=0)[0]
    assert model.loss == "categorical_crossentropy"
