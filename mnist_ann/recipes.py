"""Training recipes: how the fixed 784-128-32-10 network is driven. Plain data, no TensorFlow needed."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to train the network: batch, epochs, learning-rate schedule, augmentation."""

    name: str
    description: str
    epochs: int
    batch_size: int
    learning_rate: float
    schedule: str = "constant"  # "constant", or "cosine": linear warm-up, then cosine decay to zero
    warmup_epochs: int = 0
    augment: float = 0.0  # strength of on-the-fly augmentation; 0 turns it off
    jit_compile: bool | str = "auto"
    steps_per_execution: int = 1


RECIPES = {
    "seed": Recipe(
        name="seed",
        description="the original write-up: Adam with Keras defaults, batch 32, 10 epochs",
        epochs=10,
        batch_size=32,
        learning_rate=1e-3,
    ),
    "fast": Recipe(
        name="fast",
        description="batch 256, Adam 4e-3 with cosine decay, mild shifts/rotations/zooms, 8 epochs",
        epochs=8,
        batch_size=256,
        learning_rate=4e-3,
        schedule="cosine",
        augment=0.5,
        steps_per_execution=50,
    ),
    "augmented": Recipe(
        name="augmented",
        description="batch 128, Adam 2e-3 with cosine decay, full-strength shifts/rotations/zooms, 60 epochs",
        epochs=60,
        batch_size=128,
        learning_rate=2e-3,
        schedule="cosine",
        augment=1.0,
        steps_per_execution=50,
    ),
}

DEFAULT_RECIPE = "fast"


def get_recipe(name: str | Recipe) -> Recipe:
    """The recipe called `name`; a clear ValueError names the choices otherwise."""
    if isinstance(name, Recipe):
        return name
    try:
        return RECIPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown recipe {name!r}; choose one of: {', '.join(RECIPES)}.") from None
