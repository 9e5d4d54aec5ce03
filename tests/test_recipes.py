"""The recipes are plain data: named, unchangeable, and importable without TensorFlow."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

import mnist_ann
from mnist_ann.recipes import RECIPES


def test_unknown_recipe_names_the_choices():
    with pytest.raises(ValueError, match="unknown recipe 'fastest'; choose one of: original, fast, augmented, long\\."):
        mnist_ann.get_recipe("fastest")


def test_recipes_are_frozen_and_named_by_their_key():
    assert all(recipe.name == name for name, recipe in RECIPES.items())
    with pytest.raises(dataclasses.FrozenInstanceError):
        RECIPES["fast"].epochs = 1
    assert mnist_ann.get_recipe(RECIPES["original"]) is RECIPES["original"]


def test_importing_the_library_and_its_recipes_loads_no_tensorflow():
    probe = "import sys, mnist_ann; from mnist_ann.recipes import RECIPES; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
