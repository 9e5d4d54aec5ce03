"""tf.distribute strategies by name, TF_CONFIG checks, and which worker is the chief.

TensorFlow is imported only inside make_strategy, so that `mnist-ann --help` answers at once.
"""

from __future__ import annotations

import json
import os

STRATEGIES = ("auto", "default", "mirrored", "multi-worker")
DEFAULT_STRATEGY = "auto"
TF_CONFIG_FIX = (
    'set it as {"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}'
)


class StrategyError(ValueError):
    """A strategy name or TF_CONFIG that cannot work; the message names it and the fix."""


def read_tf_config(environ=os.environ) -> dict:
    """The cluster and this task from the TF_CONFIG environment variable, checked; StrategyError if unusable."""
    text = environ.get("TF_CONFIG")
    if not text:
        raise StrategyError(f"--strategy multi-worker needs the TF_CONFIG environment variable; {TF_CONFIG_FIX}.")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        task_type, index = task["type"], task["index"]
        addresses = cluster[task_type]
        valid = (
            isinstance(cluster, dict)
            and all(isinstance(v, list) and all(isinstance(a, str) and ":" in a for a in v) for v in cluster.values())
            and set(cluster) <= {"chief", "worker"}
            and isinstance(index, int)
            and 0 <= index < len(addresses)
        )
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise StrategyError(f"TF_CONFIG {text!r} is not a cluster with this task in it; {TF_CONFIG_FIX}.")
    return config


def is_chief_task(config: dict | None) -> bool:
    """Whether the TF_CONFIG task writes results: the "chief", or worker 0 when the cluster names no chief."""
    if not config:
        return True
    task_type, index = config["task"]["type"], config["task"]["index"]
    return task_type == "chief" or (task_type == "worker" and index == 0 and "chief" not in config["cluster"])


def make_strategy(name: str = DEFAULT_STRATEGY):
    """The tf.distribute strategy called `name`.

    "auto": MirroredStrategy when more than one GPU is visible, otherwise the default strategy;
    "default": TensorFlow's default (one device); "mirrored": MirroredStrategy over every local GPU
    (or the CPU); "multi-worker": MultiWorkerMirroredStrategy over the machines in TF_CONFIG. Create
    the multi-worker strategy before any other TensorFlow work in the process, as TensorFlow requires.
    """
    if name not in STRATEGIES:
        raise StrategyError(f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}.")
    import tensorflow as tf

    if name == "auto":
        name = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    read_tf_config()
    from mnist_ann.app.multi_worker import MultiWorkerMirroredStrategy

    return MultiWorkerMirroredStrategy()


def strategy_name(strategy) -> str:
    """The strategy's class name, e.g. "MirroredStrategy" (TensorFlow's default one: "DefaultDistributionStrategy")."""
    return type(strategy).__name__.lstrip("_")


def describe(strategy, global_batch: int) -> str:
    """One line: the strategy, its replicas, and how a global batch is split among them."""
    replicas = strategy.num_replicas_in_sync
    name = strategy_name(strategy)
    if replicas == 1:
        return f"strategy {name}: 1 replica, batch {global_batch}"
    return f"strategy {name}: {replicas} replicas share each batch of {global_batch} ({global_batch / replicas:g} each)"
