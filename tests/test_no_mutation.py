"""Nothing the caller passed is changed, and prediction never changes the model.

Every public method of both estimators is run on X, y and sample_weight in
several memory layouts (float64, float32, Fortran order, read-only memory
maps, CSR and CSC matrices); afterwards the arguments must be bit-identical
to copies taken before. Read-only memory maps also make any attempted write
fail loudly. The building blocks are checked the same way: ``forward`` and
``backward`` never write into their arguments unless an ``out=`` says so.
"""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sknnfs import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    Linear,
    MeanAbsoluteError,
    MeanSquaredError,
    NNFSClassifier,
    NNFSRegressor,
    ReLU,
    Sigmoid,
    SigmoidBinaryCrossentropy,
    Softmax,
    SoftmaxCategoricalCrossentropy,
    Tanh,
)

N_SAMPLES, N_FEATURES = 30, 4
RNG = np.random.default_rng(0)
X_BASE = RNG.standard_normal((N_SAMPLES, N_FEATURES))
X_BASE[X_BASE < -0.5] = 0.0  # some zeros, so that sparse input is sparse
Y_CLASSES = np.arange(N_SAMPLES) % 3
Y_TARGETS = X_BASE @ np.array([1.0, -2.0, 0.5, 0.0])
WEIGHTS = RNG.uniform(0.5, 2.0, N_SAMPLES)

LAYOUTS = ("float64", "float32", "fortran", "memmap", "csr", "csc")
METHODS = {
    "classifier": (
        "fit",
        "partial_fit",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "score",
    ),
    "regressor": ("fit", "partial_fit", "predict", "score"),
}
CONFIGURATIONS = {
    "default": {},
    # No shuffling: batches are views of the validated X, maybe of the caller's.
    "no shuffle, early stopping, dropout": {
        "shuffle": False,
        "early_stopping": True,
        "dropout": 0.2,
    },
}


def make_estimator(kind, **params):
    estimator_class = NNFSClassifier if kind == "classifier" else NNFSRegressor
    return estimator_class(
        hidden_layer_sizes=(5,), max_iter=3, random_state=0, **params
    )


def _memmap(array, directory, name):
    """A read-only memory map of ``array``, as joblib hands to workers."""
    path = directory / f"{name}.npy"
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def _arguments(kind, layout, directory):
    X = X_BASE
    y = Y_CLASSES if kind == "classifier" else Y_TARGETS
    sample_weight = WEIGHTS
    if layout == "float32":
        X, sample_weight = X.astype(np.float32), sample_weight.astype(np.float32)
        if kind == "regressor":
            y = y.astype(np.float32)
    elif layout == "fortran":
        X = np.asfortranarray(X)
    elif layout == "memmap":
        X = _memmap(X, directory, "X")
        y = _memmap(y, directory, "y")
        sample_weight = _memmap(sample_weight, directory, "sample_weight")
    elif layout in ("csr", "csc"):
        X = sp.csr_matrix(X) if layout == "csr" else sp.csc_matrix(X)
    return X, y, sample_weight


def _frozen(value):
    """Everything that defines ``value``'s contents, as bytes and metadata."""
    if sp.issparse(value):
        return (
            value.format,
            value.shape,
            value.dtype,
            value.data.tobytes(),
            value.indices.tobytes(),
            value.indptr.tobytes(),
        )
    return (
        value.dtype,
        value.shape,
        value.strides,
        value.flags.c_contiguous,
        value.flags.f_contiguous,
        value.flags.writeable,
        value.tobytes(order="A"),
    )


def _call(estimator, method, kind, X, y, sample_weight):
    if method.startswith("predict"):
        return getattr(estimator, method)(X)
    if method == "partial_fit" and kind == "classifier":
        return estimator.partial_fit(
            X, y, classes=np.unique(Y_CLASSES), sample_weight=sample_weight
        )
    return getattr(estimator, method)(X, y, sample_weight=sample_weight)


def _model_state(estimator):
    """Bit-level record of everything a fitted estimator learned."""
    network = estimator._network
    optimizer = estimator._optimizer
    return {
        "flat_params": network.flat_params.tobytes(),
        "coefs_": [coef.tobytes() for coef in estimator.coefs_],
        "intercepts_": [intercept.tobytes() for intercept in estimator.intercepts_],
        "optimizer_iterations": optimizer.iterations,
        "optimizer_state": None
        if optimizer.state is None
        else [[array.tobytes() for array in arrays] for arrays in optimizer.state],
        "training_rng": copy.deepcopy(estimator._training_rng.bit_generator.state),
        "n_iter_": estimator.n_iter_,
        "t_": estimator.t_,
        "loss_curve_": list(estimator.loss_curve_),
        "attributes": sorted(estimator.__dict__),
    }


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("kind", "method"),
    [(kind, method) for kind, methods in METHODS.items() for method in methods],
)
def test_methods_leave_their_arguments_bit_identical(
    kind, method, layout, configuration, tmp_path
):
    params = CONFIGURATIONS[configuration]
    if method == "partial_fit":  # which refuses early stopping
        params = {**params, "early_stopping": False}
    X, y, sample_weight = _arguments(kind, layout, tmp_path)
    estimator = make_estimator(kind, **params)
    if not method.endswith("fit"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, y, sample_weight=sample_weight)
    before = [_frozen(value) for value in (X, y, sample_weight)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _call(estimator, method, kind, X, y, sample_weight)
    after = [_frozen(value) for value in (X, y, sample_weight)]
    assert after == before


@pytest.mark.parametrize("layout", ("float64", "float32", "csr"))
@pytest.mark.parametrize(
    ("kind", "method"),
    [
        (kind, method)
        for kind, methods in METHODS.items()
        for method in methods
        if not method.endswith("fit")
    ],
)
def test_prediction_never_changes_the_fitted_model(kind, method, layout, tmp_path):
    X, y, sample_weight = _arguments(kind, layout, tmp_path)
    estimator = make_estimator(kind, optimizer="adam", dropout=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y, sample_weight=sample_weight)
    before = _model_state(estimator)
    for _ in range(2):
        _call(estimator, method, kind, X, y, sample_weight)
    assert _model_state(estimator) == before


def test_the_memmap_layout_really_is_read_only(tmp_path):
    # Otherwise the memmap cases would not catch an attempted write.
    X, y, sample_weight = _arguments("regressor", "memmap", tmp_path)
    for array in (X, y, sample_weight):
        assert isinstance(array, np.memmap)
        assert not array.flags.writeable


# ------------------------------------------------------------------ blocks
def _read_only(array):
    array = np.array(array)
    array.flags.writeable = False
    return array


def _blocks():
    """(name, callable(inputs) -> anything) for every block's forward/backward."""
    dense = Dense(N_FEATURES, 3, random_state=0, l1=0.01, l2=0.01)
    class_indices, one_hot, targets, weights = (
        _read_only(array)
        for array in (Y_CLASSES, np.eye(3)[Y_CLASSES], X_BASE[:, 1:], WEIGHTS)
    )
    cases = [
        ("Dense.forward", lambda x: dense.forward(x)),
        ("Dense.backward", lambda x: dense.backward(x[:, :3], x)),
        (
            "Dropout.forward",
            lambda x: Dropout(0.5).forward(x, np.random.default_rng(0)),
        ),
        (
            "Dropout.backward",
            lambda x: Dropout(0.5).backward(x, np.where(x > 0, 2.0, 0.0)),
        ),
    ]
    for activation in (ReLU(), Sigmoid(), Tanh(), Linear(), Softmax()):
        name = type(activation).__name__
        cases.append((f"{name}.forward", activation.forward))
        cases.append(
            (
                f"{name}.backward",
                lambda x, a=activation: a.backward(x, a.forward(x.copy())[1]),
            )
        )
    for loss, y_true in (
        (SoftmaxCategoricalCrossentropy(), class_indices),
        (SoftmaxCategoricalCrossentropy(), one_hot),
        (SigmoidBinaryCrossentropy(), one_hot),
        (MeanSquaredError(), targets),
        (MeanAbsoluteError(), targets),
        # Probability losses clip y_pred first, so any values will do.
        (CategoricalCrossentropy(), class_indices),
        (BinaryCrossentropy(), one_hot),
    ):
        name = type(loss).__name__
        cases.append(
            (f"{name}.forward", lambda x, f=loss, t=y_true: f.forward(x[:, :3], t))
        )
        cases.append(
            (
                f"{name}.backward",
                lambda x, f=loss, t=y_true: f.backward(x[:, :3], t, weights),
            )
        )
        if hasattr(loss, "loss_and_gradient"):  # the fused and regression losses
            cases.append(
                (
                    f"{name}.loss_and_gradient",
                    lambda x, f=loss, t=y_true: f.loss_and_gradient(
                        x[:, :3], t, weights
                    ),
                )
            )
    return cases


BLOCKS = _blocks()


@pytest.mark.parametrize("dtype", (np.float64, np.float32))
@pytest.mark.parametrize(
    ("name", "block_call"), BLOCKS, ids=[name for name, _ in BLOCKS]
)
def test_blocks_never_write_into_their_arguments(name, block_call, dtype):
    # Read-only inputs (and targets and weights): any write raises; the
    # bytes are compared too.
    inputs = X_BASE.astype(dtype)
    inputs.flags.writeable = False
    before = inputs.tobytes()
    block_call(inputs)
    assert inputs.tobytes() == before


def test_blocks_write_into_out_when_asked():
    # The other side of the contract: out= is honoured, not silently ignored.
    inputs = X_BASE.copy()
    out = np.empty_like(inputs)
    outputs, _ = ReLU().forward(inputs, out=out)
    assert outputs is out
    np.testing.assert_array_equal(out, np.maximum(X_BASE, 0))
    np.testing.assert_array_equal(inputs, X_BASE)
