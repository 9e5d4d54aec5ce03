"""MultiWorkerMirroredStrategy as Keras 3's `fit` can drive it."""

from __future__ import annotations

import tensorflow as tf


class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """TensorFlow's MultiWorkerMirroredStrategy, with a `reduce` that Keras 3's `fit` can call.

    Keras 3 (through 3.15) asks this strategy to reduce a whole (x, y) batch at once, and to reduce
    scalar metrics "along axis 0", and both raise with more than one worker (keras-team/keras#20585).
    Reducing each tensor separately, and scalars across replicas only, is what Keras means by both.
    """

    def reduce(self, reduce_op, value, axis):
        parent = super()

        def reduce_one(v):
            rank = self.experimental_local_results(v)[0].shape.rank
            return parent.reduce(reduce_op, v, None if rank == 0 else axis)

        return tf.nest.map_structure(reduce_one, value)
