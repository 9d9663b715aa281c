"""A fitted estimator's pickled state: NumPy arrays and builtins only.

A fitted estimator holds three objects besides its attributes: its
`Network`, its optimizer, and the generator of its shuffles and dropout
masks. Pickled as they are, a loader would have to trust sknnfs's private
classes (``skops.io.load`` asks for each one by name). So the pickled state
(format 2) writes each as a dict of arrays and builtins, from which loading
rebuilds it:

- the network: its constructor's arguments (layer sizes, the names of its
  activation and loss, the dropout rate, the penalties, the dtype's name)
  and ``flat_params``, every weight and bias in one array;
- the optimizer: its name in `OPTIMIZERS` and its attributes
  (hyperparameters, ``iterations``, and ``state``, its arrays);
- the generator: ``bit_generator.state``, a dict of ints and a name.

Format 1 (sknnfs 0.1.0 and every version until format 2) pickled the objects
themselves; its pickles load as they are.
"""

import numpy as np

from ._network import Network
from ._optimizers import OPTIMIZERS

__all__ = ["PICKLE_FORMAT", "state_to_pickle", "state_from_pickle"]

# Layout of a pickled estimator. Bump it when that layout changes, and teach
# `state_from_pickle` to convert (or refuse) the older formats.
PICKLE_FORMAT = 2

_OPTIMIZER_NAMES = {optimizer: name for name, optimizer in OPTIMIZERS.items()}


def state_to_pickle(state):
    """``state`` (an estimator's ``__dict__``) as format 2 writes it.

    Returns a new dict; the arrays are shared, not copied.
    """
    state = {**state, "_sknnfs_pickle_format": PICKLE_FORMAT}
    for name, (to_builtins, _) in _CONVERSIONS.items():
        if state.get(name) is not None:  # an 'lbfgs' fit has no optimizer
            state[name] = to_builtins(state[name])
    return state


def state_from_pickle(state, estimator_name):
    """The estimator's ``__dict__`` from its pickled ``state``, of any format.

    Raises
    ------
    ValueError
        For a format this version cannot read.
    """
    state = dict(state)
    # Pickles from before the format was recorded have format 1's layout.
    pickle_format = state.pop("_sknnfs_pickle_format", 1)
    if pickle_format not in (1, 2):
        raise ValueError(
            f"Cannot load this {estimator_name}: it was pickled in sknnfs "
            f"pickle format {pickle_format!r}, and this version of sknnfs reads "
            "only formats 1 and 2. Load it with the sknnfs version that saved "
            "it, or refit it."
        )
    if pickle_format == 2:
        for name, (_, from_builtins) in _CONVERSIONS.items():
            if state.get(name) is not None:
                state[name] = from_builtins(state[name])
    # Parameters added since format 1 was first written: the value that
    # describes how the older estimators were made.
    state.setdefault("bias_init", "zeros")
    state.setdefault("max_fun", 15000)
    state.setdefault("learning_rate_schedule", "constant")
    state.setdefault("power_t", 0.5)
    state.setdefault("nesterov", False)
    if "n_iter_" in state:
        # Fitted before the stopping rule's count was kept between calls.
        state.setdefault("_no_improvement_count", 0)
    return state


def _network_to_builtins(network):
    first_layer = network.layers[0]
    return {
        "layer_sizes": list(network.layer_sizes),
        "hidden_activation": network.hidden_activation_name,
        "loss": network.loss_name,
        "dropout": network.dropout.rate,
        # Every layer of a Network has the same penalties.
        "l1": first_layer.l1,
        "l2": first_layer.l2,
        "bias_l1": first_layer.bias_l1,
        "bias_l2": first_layer.bias_l2,
        "dtype": network.dtype.name,
        "flat_params": network.flat_params,
    }


def _network_from_builtins(state):
    arguments = dict(state)
    flat_params = arguments.pop("flat_params")
    # The initial weights drawn here (from a fixed seed, so never from
    # NumPy's global state) are replaced by the saved ones at once.
    network = Network(**arguments, random_state=0)
    # The loaded array itself, not a copy: read-only when memory-mapped, which
    # training later copies (`Network.ensure_writeable`).
    network.hold_flat_params(flat_params)
    return network


def _optimizer_to_builtins(optimizer):
    return {
        "optimizer": _OPTIMIZER_NAMES[type(optimizer)],
        "attributes": dict(vars(optimizer)),
    }


def _optimizer_from_builtins(state):
    # As pickle rebuilds an object: no __init__, then its attributes.
    optimizer = object.__new__(OPTIMIZERS[state["optimizer"]])
    optimizer.__setstate__(dict(state["attributes"]))
    return optimizer


def _generator_to_builtins(generator):
    return generator.bit_generator.state


def _generator_from_builtins(bit_generator_state):
    # Training draws its generators with default_rng (PCG64); NumPy refuses a
    # state of another bit generator.
    generator = np.random.default_rng()
    generator.bit_generator.state = bit_generator_state
    return generator


# The fitted objects, by attribute name: (to builtins, back).
_CONVERSIONS = {
    "_network": (_network_to_builtins, _network_from_builtins),
    "_optimizer": (_optimizer_to_builtins, _optimizer_from_builtins),
    "_training_rng": (_generator_to_builtins, _generator_from_builtins),
}
