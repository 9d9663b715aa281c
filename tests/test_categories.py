"""``categorical_features``: categories as one-hot inputs, each an embedding.

What a fit with categories learns is checked against a second way of
training the same thing: ``categorical_features=None`` on the numeric
columns and scikit-learn's own `OneHotEncoder` output, written by the test
(``handle_unknown='ignore'``, so unknown categories are zeros there too).
Which columns are categorical is written out by hand. The one-hot inputs
add no gradient of their own; the embedding rows' gradient is checked
against finite differences through the fitted network.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _gradcheck import assert_gradient_close
from _state import pickle_with_edited_state
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import OneHotEncoder

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._categories import categorical_mask
from sknnfs._memory import layer_views

pd = pytest.importorskip("pandas", reason="DataFrames need the test extra")

RNG = np.random.default_rng(3)
N = 300
COLOUR = RNG.choice(["red", "green", "blue"], N).astype(object)
COLOUR[::17] = None  # missing: a category of its own
SIZE = RNG.choice([1, 2, 5, 9], N)
AMOUNT = RNG.normal(size=N)
FRAME = pd.DataFrame(
    {
        "amount": AMOUNT,
        "colour": pd.Categorical(COLOUR),
        "size": pd.Categorical(SIZE),  # numbers, and still categories
        "weight": RNG.uniform(0, 3, N),
    }
)
Y = {
    "regressor": AMOUNT
    + np.where(COLOUR == "red", 2.0, 0.0)
    + np.where(SIZE == 5, -1.0, 0.5),
    "classifier": (AMOUNT + np.where(COLOUR == "blue", 1.5, 0.0) > 0.5).astype(int),
}
ESTIMATORS = {"regressor": NNFSRegressor, "classifier": NNFSClassifier}
SMALL = dict(hidden_layer_sizes=(8,), batch_size=32, max_iter=15, random_state=0)
# Rows to predict: an unknown colour, an unknown size, a missing colour.
NEW = pd.DataFrame(
    {
        "amount": [0.3, -1.0, 2.0],
        "colour": pd.Categorical(["purple", "red", None]),
        "size": pd.Categorical([1, 7, 9]),
        "weight": [1.0, 2.0, 0.5],
    }
)


def fit_quietly(estimator, *args, method="fit", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(estimator, method)(*args, **kwargs)


def outputs(estimator, X):
    if isinstance(estimator, NNFSClassifier):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def encoded_by_sklearn(train, frames, categorical, numeric):
    """Each frame as the numeric columns, then OneHotEncoder's columns."""
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    encoder.fit(train[categorical])
    return [
        np.hstack(
            [frame[numeric].to_numpy(float), encoder.transform(frame[categorical])]
        )
        for frame in frames
    ]


# ------------------------------------------------ which features they are
def test_from_dtype_takes_the_category_columns_of_a_dataframe():
    assert categorical_mask("from_dtype", FRAME).tolist() == [False, True, True, False]
    assert categorical_mask("from_dtype", FRAME.to_numpy()) is None  # no dtypes
    assert categorical_mask("from_dtype", FRAME[["amount", "weight"]]) is None
    assert categorical_mask(None, FRAME) is None


def test_polars_categorical_and_enum_columns_are_categories():
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {
            "a": [1.0, 2.0],
            "b": pl.Series(["x", "y"], dtype=pl.Categorical),
            "c": pl.Series(["p", "q"], dtype=pl.Enum(["p", "q"])),
            "d": ["u", "v"],
        }
    )
    assert categorical_mask("from_dtype", frame).tolist() == [False, True, True, False]


def test_a_polars_frame_trains_as_the_same_pandas_frame():
    pl = pytest.importorskip("polars")
    numbers = FRAME[["amount", "weight"]]
    colour = FRAME["colour"].astype(object).where(FRAME["colour"].notna(), None)
    polars_frame = pl.DataFrame(
        {
            "amount": numbers["amount"].to_numpy(),
            "colour": pl.Series(colour.tolist(), dtype=pl.Categorical),
            "weight": numbers["weight"].to_numpy(),
        }
    )
    pandas_frame = FRAME[["amount", "colour", "weight"]]
    regressor = fit_quietly(NNFSRegressor(**SMALL), polars_frame, Y["regressor"])
    assert regressor.is_categorical_.tolist() == [False, True, False]
    expected = fit_quietly(NNFSRegressor(**SMALL), pandas_frame, Y["regressor"])
    assert (
        regressor.predict(polars_frame).tobytes()
        == expected.predict(pandas_frame).tobytes()
    )


@pytest.mark.parametrize(
    "spec",
    [[1, 2], np.array([1, 2]), [False, True, True, False], ["colour", "size"]],
    ids=["indices", "index array", "mask", "names"],
)
def test_indices_masks_and_names_pick_the_same_columns(spec):
    assert categorical_mask(spec, FRAME).tolist() == [False, True, True, False]


@pytest.mark.parametrize("spec", [[], [False] * 4])
def test_no_categorical_feature_is_none(spec):
    assert categorical_mask(spec, FRAME) is None


@pytest.mark.parametrize(
    ("spec", "X", "message"),
    [
        (
            [4],
            FRAME,
            r"categorical_features has indices \[4\] out of range: X has 4 "
            r"features \(indices 0 to 3\)",
        ),
        ([-1], FRAME, r"indices \[-1\] out of range"),
        (
            ["colour", "shade"],
            FRAME,
            r"categorical_features names \['shade'\], which are not columns of "
            r"X: \['amount', 'colour', 'size', 'weight'\]",
        ),
        (
            ["colour"],
            FRAME.to_numpy(),
            "categorical_features names columns, and X has no column names",
        ),
        (
            [True, False],
            FRAME,
            "categorical_features, a boolean mask, has 2 items, where X has 4",
        ),
        ([0.5], FRAME, r"must be a boolean mask, integer indices or column names"),
        ([[0]], FRAME, r"must be a 1-d array-like .* shape \(1, 1\)"),
    ],
    ids=[
        "index too large",
        "negative",
        "unknown name",
        "names, no frame",
        "mask length",
        "floats",
        "2-d",
    ],
)
def test_a_bad_specification_is_a_clear_error_and_changes_nothing(spec, X, message):
    regressor = NNFSRegressor(categorical_features=spec, **SMALL)
    with pytest.raises(ValueError, match=message):
        regressor.fit(X, Y["regressor"])
    assert not hasattr(regressor, "n_features_in_")


# ---------------------------------------------------------- the estimators
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_categories_train_as_their_one_hot_columns(kind):
    estimator = fit_quietly(ESTIMATORS[kind](**SMALL), FRAME, Y[kind])
    assert estimator.is_categorical_.tolist() == [False, True, True, False]
    # 2 numbers, 4 colours (missing one of them) and 4 sizes.
    assert estimator.coefs_[0].shape == (10, 8)
    assert estimator.n_features_in_ == 4
    assert estimator.feature_names_in_.tolist() == list(FRAME.columns)
    train, new = encoded_by_sklearn(
        FRAME, [FRAME, NEW], ["colour", "size"], ["amount", "weight"]
    )
    by_hand = fit_quietly(
        ESTIMATORS[kind](categorical_features=None, **SMALL), train, Y[kind]
    )
    # Trained on the same inputs from the same draws: the same network.
    assert outputs(estimator, NEW).tobytes() == outputs(by_hand, new).tobytes()
    assert estimator.score(FRAME, Y[kind]) == by_hand.score(train, Y[kind])


def test_an_unknown_category_predicts_with_zeros_for_its_feature():
    regressor = fit_quietly(NNFSRegressor(**SMALL), FRAME, Y["regressor"])
    weights, biases = regressor.coefs_[0], regressor.intercepts_[0]
    row = NEW.iloc[:1]  # 'purple': no colour column is 1; size 1 is
    inputs = np.zeros((1, 10))
    inputs[0, :2] = row[["amount", "weight"]].to_numpy()[0]
    inputs[0, 2 + 4] = 1.0  # size 1: the first of [1, 2, 5, 9]
    hidden = np.maximum(inputs @ weights + biases, 0.0)
    output = hidden @ regressor.coefs_[1] + regressor.intercepts_[1]
    expected = output[0, 0] * regressor.target_scale_[0] + regressor.target_mean_[0]
    np.testing.assert_allclose(regressor.predict(row), [expected], rtol=1e-12)


def test_numbers_in_a_category_column_are_categories_not_numbers():
    regressor = fit_quietly(NNFSRegressor(**SMALL), FRAME[["size"]], Y["regressor"])
    assert regressor.coefs_[0].shape == (4, 8)  # one input per size
    as_numbers = NNFSRegressor(categorical_features=None, **SMALL)
    fit_quietly(as_numbers, FRAME[["size"]], Y["regressor"])
    assert as_numbers.is_categorical_ is None
    assert as_numbers.coefs_[0].shape == (1, 8)


@pytest.mark.parametrize(
    ("X", "spec"),
    [
        (FRAME.astype({"colour": object, "size": int}), ["colour", "size"]),
        (FRAME.astype({"colour": object, "size": int}).to_numpy(), [1, 2]),
        (FRAME.astype({"colour": object, "size": int}).to_numpy().tolist(), [1, 2]),
    ],
    ids=["text columns by name", "object array by index", "list of rows"],
)
def test_text_and_numbers_named_as_categories_train_alike(X, spec):
    estimator = fit_quietly(
        NNFSRegressor(categorical_features=spec, **SMALL), X, Y["regressor"]
    )
    from_dtype = fit_quietly(NNFSRegressor(**SMALL), FRAME, Y["regressor"])
    rows = X[:20] if not hasattr(X, "iloc") else X.iloc[:20]
    assert (
        estimator.predict(rows).tobytes()
        == from_dtype.predict(FRAME.iloc[:20]).tobytes()
    )


def test_the_embedding_rows_gradient_matches_finite_differences():
    regressor = fit_quietly(NNFSRegressor(**SMALL), FRAME, Y["regressor"])
    network = regressor._network
    inputs = regressor._validate_X(FRAME.iloc[:40], reset=False)
    y = (Y["regressor"][:40] - regressor.target_mean_) / regressor.target_scale_
    y = y.reshape(-1, 1)
    _, grads = network.loss_and_gradients(inputs, y, training=False)
    sizes = network.layer_sizes
    analytic = layer_views(grads.copy(), sizes)[0][0][2:]  # the categories' rows
    embeddings = layer_views(network.flat_params, sizes)[0][0][2:]
    assert np.any(analytic != 0)
    assert_gradient_close(
        analytic,
        lambda: network.loss_and_gradients(inputs, y, training=False)[0],
        embeddings,
    )


def test_partial_fit_learns_the_categories_from_its_first_rows_and_keeps_them():
    regressor = NNFSRegressor(**SMALL)
    first = FRAME[FRAME["colour"] != "red"]
    fit_quietly(regressor, first, Y["regressor"][first.index], method="partial_fit")
    assert regressor.coefs_[0].shape == (9, 8)  # no red
    fit_quietly(regressor, FRAME, Y["regressor"], method="partial_fit")
    assert regressor.coefs_[0].shape == (9, 8)  # red is unknown: zeros
    assert np.isfinite(regressor.predict(FRAME)).all()


def test_a_warm_start_keeps_the_categories_whatever_the_parameter_says_then():
    regressor = fit_quietly(NNFSRegressor(**SMALL), FRAME, Y["regressor"])
    fit_quietly(
        regressor.set_params(warm_start=True, categorical_features=None),
        FRAME,
        Y["regressor"],
    )
    assert regressor.is_categorical_.tolist() == [False, True, True, False]
    assert regressor.coefs_[0].shape == (10, 8)


def test_a_refit_without_categories_forgets_them():
    regressor = fit_quietly(NNFSRegressor(**SMALL), FRAME, Y["regressor"])
    numbers = FRAME[["amount", "weight"]]
    fit_quietly(regressor, numbers, Y["regressor"])
    assert regressor.is_categorical_ is None
    fresh = fit_quietly(NNFSRegressor(**SMALL), numbers, Y["regressor"])
    assert regressor.predict(numbers).tobytes() == fresh.predict(numbers).tobytes()


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_numeric_bins_encode_the_numbers_and_leave_the_one_hot_columns(kind):
    estimator = ESTIMATORS[kind](numeric_bins=4, **SMALL)
    fit_quietly(estimator, FRAME, Y[kind])
    edges = estimator.bin_edges_
    # amount and weight at 4 bins, then the 8 one-hot columns as they are.
    assert len(edges) == 10
    assert [e is None for e in edges] == [False, False] + [True] * 8
    assert estimator.coefs_[0].shape == (16, 8)
    train, new = encoded_by_sklearn(
        FRAME, [FRAME, NEW], ["colour", "size"], ["amount", "weight"]
    )
    by_hand = ESTIMATORS[kind](categorical_features=None, numeric_bins=4, **SMALL)
    fit_quietly(by_hand, train, Y[kind])
    assert outputs(estimator, NEW).tobytes() == outputs(by_hand, new).tobytes()


def test_the_callers_frame_is_not_modified():
    frame = FRAME.copy()
    regressor = fit_quietly(NNFSRegressor(**SMALL), frame, Y["regressor"])
    regressor.predict(frame)
    pd.testing.assert_frame_equal(frame, FRAME)


def test_sparse_x_with_named_categories_is_a_clear_error_and_changes_nothing():
    regressor = NNFSRegressor(categorical_features=[0], **SMALL)
    with pytest.raises(TypeError, match="categorical_features needs dense X"):
        regressor.fit(sp.csr_matrix(FRAME[["amount", "weight"]]), Y["regressor"])
    assert not hasattr(regressor, "n_features_in_")
    # from_dtype reads no categories from a sparse matrix: it trains.
    trained = fit_quietly(
        NNFSRegressor(**SMALL), sp.csr_matrix(FRAME[["amount"]]), Y["regressor"]
    )
    assert trained.is_categorical_ is None and trained.coefs_[0].shape == (1, 8)


def test_text_in_a_numeric_column_still_names_the_column():
    frame = FRAME.assign(note=np.where(AMOUNT > 0, "high", "low"))
    with pytest.raises(ValueError, match=r"numbers: \['note'\]\. Name them in"):
        NNFSRegressor(**SMALL).fit(frame, Y["regressor"])


def test_a_dask_fit_refuses_categories_before_it_needs_a_cluster():
    dd = pytest.importorskip("dask.dataframe", reason="needs the dask extra")
    regressor = NNFSRegressor(**SMALL)
    with pytest.raises(ValueError, match="categorical_features is not available"):
        regressor.fit(
            dd.from_pandas(FRAME, npartitions=2),
            dd.from_pandas(pd.Series(Y["regressor"]), npartitions=2),
        )
    assert not hasattr(regressor, "n_features_in_")


def test_onnx_refuses_categories_and_says_what_to_do():
    pytest.importorskip("skl2onnx", reason="needs the onnx extra")
    from sknnfs.onnx import to_onnx

    regressor = fit_quietly(NNFSRegressor(**SMALL), FRAME, Y["regressor"])
    with pytest.raises(ValueError, match="fitted with categorical features.*"):
        to_onnx(regressor, np.zeros((1, 4)))


# ------------------------------------------------------------ persistence
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_pickles_clones_and_skops_keep_the_categories(kind):
    estimator = fit_quietly(ESTIMATORS[kind](**SMALL), FRAME, Y[kind])
    loaded = pickle.loads(pickle.dumps(estimator))
    assert outputs(loaded, NEW).tobytes() == outputs(estimator, NEW).tobytes()
    assert clone(estimator).get_params()["categorical_features"] == "from_dtype"
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(estimator)
    assert sio.get_untrusted_types(data=data) == [
        f"sknnfs.{type(estimator).__module__.split('.')[1]}.{type(estimator).__name__}"
    ]
    trusted = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert outputs(trusted, NEW).tobytes() == outputs(estimator, NEW).tobytes()


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda state: state.update(is_categorical_=np.array([True, False])),
            "is_categorical_ is not a boolean mask of its 4 features",
        ),
        (
            lambda state: state.update(_category_encoder=OneHotEncoder().fit([["a"]])),
            "its category encoder is not a fitted OneHotEncoder of the 2 "
            "categorical features",
        ),
        (
            lambda state: state.update(n_features_in_=5),
            "is_categorical_ is not a boolean mask of its 5 features",
        ),
    ],
    ids=["mask", "encoder", "n_features_in_"],
)
def test_an_edited_pickle_of_the_categories_is_refused(edit, problem):
    regressor = fit_quietly(NNFSRegressor(**SMALL), FRAME, Y["regressor"])
    payload = pickle_with_edited_state(regressor, edit)
    with pytest.raises(ValueError, match=f"Cannot load this NNFSRegressor: {problem}"):
        pickle.loads(payload)


def test_a_pickle_from_before_categories_loads_as_it_was_fitted():
    numbers = FRAME[["amount", "weight"]]
    regressor = fit_quietly(NNFSRegressor(**SMALL), numbers, Y["regressor"])

    def as_before(state):
        del state["categorical_features"], state["is_categorical_"]
        del state["_category_encoder"]

    loaded = pickle.loads(pickle_with_edited_state(regressor, as_before))
    # Its network took every column as a number: so does the loaded one.
    assert loaded.categorical_features is None and loaded.is_categorical_ is None
    assert loaded.predict(numbers).tobytes() == regressor.predict(numbers).tobytes()


def test_a_few_rows_of_floats_are_encoded_too():
    # A small float array is what prediction hands straight to the network
    # when there is nothing to convert: with categories there is.
    X = np.column_stack([AMOUNT, SIZE.astype(float)])
    regressor = NNFSRegressor(categorical_features=[1], **SMALL)
    fit_quietly(regressor, X, Y["regressor"])
    train, rows = encoded_by_sklearn(
        pd.DataFrame(X), [pd.DataFrame(X), pd.DataFrame(X[:3])], [1], [0]
    )
    by_hand = NNFSRegressor(categorical_features=None, **SMALL)
    fit_quietly(by_hand, train, Y["regressor"])
    assert regressor.predict(X[:3]).tobytes() == by_hand.predict(rows).tobytes()
