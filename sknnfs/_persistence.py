"""A fitted estimator's pickled state: NumPy arrays and builtins only.

A fitted estimator holds three objects besides its attributes: its
`Network`, its optimizer, and the generator of its shuffles and dropout
masks. Pickled as they are, a loader would have to trust sknnfs's private
classes (``skops.io.load`` asks for each one by name). So the pickled state
(format 2) writes each as a dict of arrays and builtins, from which loading
rebuilds it:

- the network: its constructor's arguments (layer sizes, the names of its
  activation and loss, the dropout rate, the label smoothing, the
  penalties, the dtype's name) and ``flat_params``, every weight and bias
  in one array (a network saved before label smoothing has none);
- the optimizer: its name in `OPTIMIZERS` and its attributes
  (hyperparameters, ``iterations``, and ``state``, its arrays);
- the generator: ``bit_generator.state``, a dict of ints and a name.

A fit with categorical features holds one more object, the fitted
`OneHotEncoder` of its categories (`sknnfs._categories`): it is pickled as
it is, a scikit-learn type that ``skops.io.load`` trusts without asking.

Format 1 (sknnfs 0.1.0 and every version until format 2) pickled the objects
themselves; its pickles load as they are.

A file can be damaged, or edited, after it was saved: loading checks the
network's parameters as assigning ``coefs_`` does (`checked_parameters`),
and more strictly (exactly the network's dtype and number of values), and
the optimizer's arrays against them; a file that fails is a ValueError
(`loading_error`) naming the array and what is wrong with it, not a model
whose every prediction blames the data.
"""

import numpy as np

from ._activations import HIDDEN_ACTIVATIONS
from ._losses import LOSSES
from ._memory import count_parameters, layer_views
from ._network import Network
from ._optimizers import OPTIMIZERS

__all__ = [
    "PICKLE_FORMAT",
    "checked_parameters",
    "loading_error",
    "state_to_pickle",
    "state_from_pickle",
]

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
        For a format this version cannot read, or a network or optimizer
        whose arrays do not match its description (`loading_error`).
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
    try:
        _rebuild_fitted_objects(state, pickle_format)
    except KeyError as error:  # names are checked: this is a missing entry
        problem = f"its saved state lacks the entry {error}"
        raise loading_error(estimator_name, problem) from None
    except (TypeError, ValueError) as error:
        raise loading_error(estimator_name, error) from None
    # Parameters added since format 1 was first written: the value that
    # describes how the older estimators were made.
    state.setdefault("bias_init", "zeros")
    state.setdefault("max_fun", 15000)
    state.setdefault("learning_rate_schedule", "constant")
    state.setdefault("power_t", 0.5)
    state.setdefault("nesterov", False)
    state.setdefault("weight_decay", 0.0)
    if "n_iter_" in state:
        # Fitted before the stopping rule's count was kept between calls.
        state.setdefault("_no_improvement_count", 0)
        # Fitted before early_stopping='auto': only a fit with a validation
        # split recorded validation scores.
        state.setdefault(
            "do_early_stopping_", state.get("validation_scores_") is not None
        )
    return state


def loading_error(estimator_name, problem):
    """The ValueError for a loaded state that fails a check: ``problem``."""
    return ValueError(
        f"Cannot load this {estimator_name}: {problem}. The file was damaged, "
        "or changed after it was saved: load an intact copy, or refit."
    )


def _rebuild_fitted_objects(state, pickle_format):
    """Rebuild format 2's objects in ``state``, and check those of any format."""
    if pickle_format == 2:
        for name, (_, from_builtins) in _CONVERSIONS.items():
            if state.get(name) is not None:
                state[name] = from_builtins(state[name])
    network = state.get("_network")
    if network is None:  # not fitted
        return
    if pickle_format == 1:  # format 2's network was checked as it was built
        network.hold_flat_params(_checked_flat_params(network.flat_params, network))
    if state.get("_optimizer") is not None:
        _check_optimizer_state(state["_optimizer"], network.flat_params)


def _checked_flat_params(flat_params, network):
    """The loaded ``flat_params``, checked to be ``network``'s parameters.

    ``network``'s layer sizes and dtype say what they must be: exactly
    that many values, of that dtype (in either byte order), each layer's
    `checked_parameters` (finite real numbers).

    Returns
    -------
    flat_params : ndarray of shape (n_parameters,)
        ``flat_params`` itself (memory-mapped, say) unless its byte order
        was not the machine's.
    """
    if network.dtype not in (np.float32, np.float64):
        raise ValueError(
            f"its network's dtype is {network.dtype}; networks are float32 or float64"
        )
    sizes = network.layer_sizes
    expected = np.empty(count_parameters(sizes), network.dtype)
    flat_params = np.asarray(flat_params)
    if flat_params.shape != expected.shape:
        raise ValueError(
            f"its network's weights and biases (flat_params) are an array of "
            f"shape {flat_params.shape}, where layers of sizes {sizes} have "
            f"{expected.size} of them"
        )
    _check_same_dtype(flat_params, expected, "its network's weights and biases")
    layers = zip(
        layer_views(flat_params, sizes), layer_views(expected, sizes), strict=True
    )
    for index, ((weights, biases), (layer_weights, layer_biases)) in enumerate(layers):
        checked_parameters(weights, layer_weights, f"coefs_[{index}]")
        checked_parameters(biases[0], layer_biases[0], f"intercepts_[{index}]")
    return flat_params.astype(network.dtype, copy=False)


def _check_optimizer_state(optimizer, flat_params):
    """The optimizer's arrays: one set, as its steps make for ``flat_params``."""
    if optimizer.state is None:  # no step taken
        return
    n_arrays = len(optimizer._new_state(flat_params))
    n_loaded = [len(arrays) for arrays in optimizer.state]
    if n_loaded != [n_arrays]:
        raise ValueError(
            f"its {type(optimizer).__name__} optimizer holds {n_loaded} state "
            f"arrays per parameter array, where it keeps [{n_arrays}] for the "
            "network's one array of parameters"
        )
    (arrays,) = optimizer.state
    checked = []
    for index, array in enumerate(arrays):
        name = f"its optimizer's state array {index}"
        array = np.asarray(array)
        if array.shape != flat_params.shape:
            raise ValueError(
                f"{name} has shape {array.shape}, where the network's "
                f"parameters have shape {flat_params.shape}"
            )
        _check_same_dtype(array, flat_params, name)
        checked.append(checked_parameters(array, flat_params, name))
    optimizer.state = [tuple(checked)]


def _check_same_dtype(array, expected, name):
    """A loaded array is not converted: its dtype must be the network's."""
    if not np.can_cast(array.dtype, expected.dtype, casting="equiv"):
        raise ValueError(
            f"the dtype of {name} is {array.dtype}, where the network's is "
            f"{expected.dtype}"
        )


def checked_parameters(values, current, name):
    """``values`` as an array of ``current``'s shape and dtype, or a clear error.

    The checks of an assignment to ``coefs_[i]`` or ``intercepts_[i]``, and
    of each layer's parameters in a loaded file.

    Parameters
    ----------
    values : array-like
    current : ndarray
        The parameters ``values`` would replace: their shape and dtype.
    name : str
        Names ``values`` in the errors, e.g. ``'coefs_[0]'``.

    Raises
    ------
    TypeError
        For values that are not real numbers.
    ValueError
        For another shape than ``current``'s, or values that are not finite
        in its dtype.
    """
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}")
    if array.shape != current.shape:
        raise ValueError(
            f"{name} must have shape {current.shape}, the shape of that "
            f"layer's parameters; got shape {array.shape}"
        )
    with np.errstate(over="ignore"):
        array = array.astype(current.dtype, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(
            f"{name} must be finite in {current.dtype} (the network's dtype); "
            "it holds NaN or infinity"
        )
    return array


def _network_to_builtins(network):
    first_layer = network.layers[0]
    return {
        "layer_sizes": list(network.layer_sizes),
        "hidden_activation": network.hidden_activation_name,
        "loss": network.loss_name,
        "dropout": network.dropout.rate,
        "label_smoothing": network.label_smoothing,
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
    _check_known(
        arguments["hidden_activation"],
        HIDDEN_ACTIVATIONS,
        "its network's hidden activation",
    )
    _check_known(arguments["loss"], LOSSES, "its network's loss")
    # The initial weights drawn here (from a fixed seed, so never from
    # NumPy's global state) are replaced by the saved ones at once.
    network = Network(**arguments, random_state=0)
    # The loaded array itself, not a copy: read-only when memory-mapped, which
    # training later copies (`Network.ensure_writeable`).
    network.hold_flat_params(_checked_flat_params(flat_params, network))
    return network


def _optimizer_to_builtins(optimizer):
    return {
        "optimizer": _OPTIMIZER_NAMES[type(optimizer)],
        "attributes": dict(vars(optimizer)),
    }


def _optimizer_from_builtins(state):
    _check_known(state["optimizer"], OPTIMIZERS, "its optimizer")
    # As pickle rebuilds an object: no __init__, then its attributes.
    optimizer = object.__new__(OPTIMIZERS[state["optimizer"]])
    optimizer.__setstate__(dict(state["attributes"]))
    return optimizer


def _check_known(name, names, what):
    """A ValueError unless ``name`` (a saved string) is one of ``names``."""
    if not (isinstance(name, str) and name in names):
        raise ValueError(f"{what} is {name!r}, not one of {sorted(names)}")


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
