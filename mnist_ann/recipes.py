"""Training recipes: how the fixed 784-128-32-10 network is driven. Plain data, no TensorFlow needed."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to train the network: batch, epochs, learning-rate schedule, augmentation and deskewing. The one
    description of a run: every change to one (the notebook's EPOCHS, the command line's --epochs, a candidate of the
    chooser) is `changed`'s."""

    name: str
    description: str
    epochs: int
    batch_size: int
    learning_rate: float
    schedule: str = "constant"  # "constant", or "cosine": linear warm-up, then cosine decay to zero
    warmup_epochs: int = 0
    augment: str = "none"  # "none", "shift" (up to one pixel) or "elastic" (elastic distortion, rotation, zoom, shift)
    deskew: bool = False  # straighten each digit first: the training digits, and the network's input (model.Deskew)

    def changed(self, **settings) -> Recipe:
        """This recipe with some settings changed (`epochs=6, learning_rate=0.1`); a setting given as None keeps
        the recipe's own, so a notebook's `EPOCHS = None` means "the recipe's"."""
        unknown = sorted(set(settings) - set(_SETTINGS))
        if unknown:
            raise ValueError(f"a recipe has no setting {unknown[0]!r}; it has: {', '.join(_SETTINGS)}.")
        settings = {key: value for key, value in settings.items() if value is not None}
        return dataclasses.replace(self, **settings)


_SETTINGS = [field.name for field in dataclasses.fields(Recipe)]
AUGMENTED = Recipe(
    name="augmented",
    description="deskewed digits, elastic distortion with small affine moves, batch 128, Adam 2e-3 with cosine "
    "decay, 55 epochs",
    epochs=55,
    batch_size=128,
    learning_rate=2e-3,
    schedule="cosine",
    augment="elastic",
    deskew=True,
)
# `long` is `augmented` trained longer: the one recipe changed, so the two never drift apart.
RECIPES = {
    "original": Recipe(
        name="original",
        description="the original write-up's: Adam with Keras defaults, batch 32, 10 epochs",
        epochs=10,
        batch_size=32,
        learning_rate=1e-3,
    ),
    "fast": Recipe(
        name="fast",
        description="batch 1024, Adam 1e-2 with a 1-epoch warmup and cosine decay, one-pixel shifts, 12 epochs",
        epochs=12,
        batch_size=1024,
        learning_rate=1e-2,
        schedule="cosine",
        warmup_epochs=1,
        augment="shift",
    ),
    "augmented": AUGMENTED,
    "long": AUGMENTED.changed(name="long", description="augmented's, for 400 epochs", epochs=400),
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
