"""ONNX export of fitted `NNFSClassifier` and `NNFSRegressor`, through skl2onnx.

`register_converters` teaches skl2onnx the two estimators, so that
``skl2onnx.to_onnx`` and ``skl2onnx.convert_sklearn`` convert them alone or
inside a `Pipeline`; `to_onnx` registers and converts in one call.

The graph is the fitted network's forward pass (constructor parameters
set since the fit change nothing), one ``MatMul``, ``Add`` and activation
per layer, with the fitted weights as initializers in the dtype of the
graph's input (float32 or float64); with ``numeric_bins``, the features are
first encoded at ``bin_edges_`` as ``predict`` does (``Gather``, ``Sub``,
``Mul``, ``Max``, ``Min``). A two-class classifier's one logistic
unit ``z`` is exported as a ``Softmax`` of ``(0, z)``, which gives
``predict_proba``'s two columns. A classifier's outputs are those of
skl2onnx's own classifiers: ``label`` (``classes_[argmax]``, as int64 or
strings, or for multilabel ``y`` a 0/1 int64 matrix of ``proba > 0.5``)
and ``probabilities`` (a tensor with
``options={id(model): {"zipmap": False}}``, otherwise skl2onnx's ZipMap of
one dict per row). A regressor has one output, ``variable``, of shape
(n_samples, n_outputs): (n_samples, 1) for a 1-D ``y``, as skl2onnx gives
for `MLPRegressor`; its network's outputs are unscaled as ``predict`` does,
by a ``Mul`` by ``target_scale_`` and an ``Add`` of ``target_mean_``.

skl2onnx and onnxruntime are the optional ``onnx`` extra
(``pip install -e ".[onnx]"``). ``import sknnfs`` does not import this module,
and this module imports skl2onnx only when one of its functions runs.

Examples
--------
>>> import numpy as np
>>> from onnxruntime import InferenceSession
>>> from sklearn.datasets import load_iris
>>> from sknnfs import NNFSClassifier
>>> from sknnfs.onnx import to_onnx
>>> X, y = load_iris(return_X_y=True)
>>> clf = NNFSClassifier(hidden_layer_sizes=(16,), learning_rate=0.01,
...                      batch_size=16, max_iter=300, random_state=0).fit(X, y)
>>> X32 = X.astype(np.float32)
>>> onx = to_onnx(clf, X32[:1], options={id(clf): {"zipmap": False}})
>>> session = InferenceSession(onx.SerializeToString(),
...                            providers=["CPUExecutionProvider"])
>>> [output.name for output in session.get_outputs()]
['label', 'probabilities']
>>> label, proba = session.run(None, {"X": X32})
>>> bool((label == clf.predict(X)).all())
True
>>> bool(np.abs(proba - clf.predict_proba(X)).max() < 1e-5)
True
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import OUT_ACTIVATIONS
from ._classifier import NNFSClassifier, _two_class_logits
from ._numeric_encoding import encoding_columns
from ._regressor import NNFSRegressor

__all__ = ["register_converters", "to_onnx"]

CLASSIFIER_ALIAS = "SknnfsNNFSClassifier"
REGRESSOR_ALIAS = "SknnfsNNFSRegressor"

# The options of skl2onnx's own MLPClassifier. Declaring 'zipmap' makes
# skl2onnx parse the estimator as a classifier and add the ZipMap (or the
# class labels) after our two outputs itself; its ZipMap reads 'nocl'.
CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "output_class_labels": [False, True],
    "nocl": [False, True],
}

# ONNX operator of each hidden activation and output activation; None: the
# values pass through unchanged, so no node is needed.
HIDDEN_ACTIVATION_OPS = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "linear": None,
}
OUTPUT_ACTIVATION_OPS = {
    "softmax": "Softmax",
    "logistic": "Sigmoid",
    "identity": None,
    "exp": "Exp",
}


def register_converters():
    """Register the converters of `NNFSClassifier` and `NNFSRegressor` with skl2onnx.

    Afterwards ``skl2onnx.to_onnx`` and ``skl2onnx.convert_sklearn`` convert
    both estimators, alone or inside pipelines and other meta-estimators.
    Calling it again registers the same converters again, harmlessly.

    The classifier takes skl2onnx's classifier options: ``zipmap``
    (``True``, the default: probabilities as a list of dicts; ``False``: a
    tensor; ``'columns'``: one output per class), ``output_class_labels``
    and ``nocl`` (``True``: the labels are the class indices
    ``0 .. n_classes - 1``). A float64 graph needs ``zipmap=False`` or
    ``'columns'``: ONNX's ZipMap takes float32 only.

    The ``label`` output holds ``predict``'s labels exactly: ``str`` labels
    as strings, integers as int64 (booleans as 0 and 1, whole floats as
    their integer values, as skl2onnx gives them for its own classifiers).
    Labels that int64 or strings cannot hold exactly (dates, durations,
    unsigned integers beyond int64) raise a ValueError at export: refit on
    integer or string labels, or pass ``nocl=True`` for class indices.
    The conversion of an estimator that is not fitted raises
    `sklearn.exceptions.NotFittedError`.
    """
    from skl2onnx import update_registered_converter

    update_registered_converter(
        NNFSClassifier,
        CLASSIFIER_ALIAS,
        _classifier_output_shapes,
        _convert_classifier,
        parser=_parse_classifier,
        options=CLASSIFIER_OPTIONS,
    )
    update_registered_converter(
        NNFSRegressor,
        REGRESSOR_ALIAS,
        _regressor_output_shapes,
        _convert_regressor,
    )


def to_onnx(model, X_sample=None, **conversion_kwargs):
    """Register the converters, then ``skl2onnx.to_onnx(model, X_sample, ...)``.

    Parameters
    ----------
    model : estimator
        A fitted `NNFSClassifier` or `NNFSRegressor`, or a pipeline (or any
        estimator skl2onnx converts) containing them.
    X_sample : ndarray of shape (n_samples, n_features), default=None
        A few input rows: their dtype and number of columns give the graph's
        input, and its dtype that of the computation (float32 rows give a
        float32 graph, float64 rows a float64 one). May be None when
        ``initial_types`` is passed.
    **conversion_kwargs
        Passed to ``skl2onnx.to_onnx``: ``options``, ``target_opset``,
        ``initial_types``...

    Returns
    -------
    onnx_model : onnx.ModelProto

    Raises
    ------
    sklearn.exceptions.NotFittedError
        For an estimator of ours that is not fitted, alone or in a pipeline.
    ValueError
        For a classifier in a float64 graph with the default ``zipmap``
        option (ONNX's ZipMap takes float32 only: pass ``zipmap=False``);
        for class labels the graph cannot give back exactly as ``predict``
        does (see `register_converters`); or when the estimator's input has
        other than ``n_features_in_`` columns.
    """
    import skl2onnx

    register_converters()
    return skl2onnx.to_onnx(model, X_sample, **conversion_kwargs)


# ---------------------------------------------------------------- parsers
def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser, for a fitted classifier with exportable labels.

    skl2onnx parses a model (declares its outputs) before the shape
    calculators and converters run, and its classifier parser reads
    ``classes_`` for the ZipMap: a classifier that is not fitted, or whose
    labels ONNX cannot hold, is refused here, before skl2onnx fails on it in
    its own words.
    """
    from skl2onnx._parse import _parse_sklearn_classifier

    check_is_fitted(model)
    _label_values(scope, model)  # raises for labels ONNX cannot hold exactly
    _check_class_labels_option(scope, model)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers)


# ----------------------------------------------------------------- shapes
def _input_tensor_type(operator):
    """skl2onnx's tensor class for the graph's values: float64 or else float32.

    Integer and boolean inputs are computed in float32, as skl2onnx's own
    converters do.
    """
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(operator.inputs[0].type, DoubleTensorType):
        return DoubleTensorType
    return FloatTensorType


def _check_input(operator):
    """The estimator is fitted, without categorical features, and its input
    of a numeric type with ``n_features_in_`` columns."""
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
    )
    from skl2onnx.common.utils import check_input_and_output_types

    estimator = operator.raw_operator
    check_is_fitted(estimator)
    if estimator.__dict__.get("is_categorical_") is not None:
        raise ValueError(
            f"This {type(estimator).__name__} was fitted with categorical "
            "features, whose one-hot columns this converter does not write. "
            "Encode them in front instead (OneHotEncoder in a "
            "ColumnTransformer, which skl2onnx converts) and fit with "
            "categorical_features=None."
        )
    check_input_and_output_types(
        operator,
        good_input_types=[
            FloatTensorType,
            DoubleTensorType,
            Int64TensorType,
            BooleanTensorType,
        ],
    )
    n_columns = operator.inputs[0].get_second_dimension()
    if isinstance(n_columns, int) and n_columns != estimator.n_features_in_:
        raise ValueError(
            f"The ONNX input of {type(estimator).__name__} has {n_columns} "
            f"columns, but the estimator was fitted on {estimator.n_features_in_} "
            "features"
        )


def _classifier_output_shapes(operator):
    """Types of ``label`` (n_samples,) or (n_samples, n_labels), ``probabilities``."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        Int64TensorType,
        StringTensorType,
    )
    from skl2onnx.common.utils import check_input_and_output_numbers

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    _check_input(operator)
    classifier = operator.raw_operator
    probability_type = _input_tensor_type(operator)
    zipmap = operator.scope_inst.get_options(classifier, {"zipmap": True})["zipmap"]
    # skl2onnx would build the graph, and onnxruntime refuse to load it.
    if zipmap is True and probability_type is DoubleTensorType:
        raise ValueError(
            "ONNX's ZipMap takes float32 probabilities only, and this float64 "
            "graph would feed it float64 ones. Pass "
            "options={id(model): {'zipmap': False}} (or 'columns') to keep "
            "float64, or float32 input rows for a float32 graph."
        )
    n_samples = operator.inputs[0].get_first_dimension()
    if classifier._multilabel:
        label_type = Int64TensorType([n_samples, classifier.n_outputs_])
    elif _label_values(operator.scope_inst, classifier)[0] == TensorProto.STRING:
        label_type = StringTensorType([n_samples])
    else:
        label_type = Int64TensorType([n_samples])
    operator.outputs[0].type = label_type
    n_columns = (
        classifier.n_outputs_ if classifier._multilabel else len(classifier.classes_)
    )
    operator.outputs[1].type = probability_type([n_samples, n_columns])


def _regressor_output_shapes(operator):
    """Type of ``variable``, (n_samples, n_outputs) even for a 1-D ``y``."""
    from skl2onnx.common.utils import check_input_and_output_numbers

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    _check_input(operator)
    regressor = operator.raw_operator
    n_samples = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _input_tensor_type(operator)(
        [n_samples, regressor.n_outputs_]
    )


# -------------------------------------------------------------- converters
def _convert_classifier(scope, operator, container):
    """``label`` and ``probabilities``, as `NNFSClassifier.predict` and
    `NNFSClassifier.predict_proba` compute them."""
    classifier = operator.raw_operator
    label_name = operator.outputs[0].full_name
    proba_name = operator.outputs[1].full_name
    float_type = _add_forward_pass(scope, operator, container, proba_name)
    if classifier._multilabel:
        _add_thresholded_labels(scope, container, proba_name, label_name, float_type)
    else:
        _add_most_probable_labels(scope, operator, container, proba_name, label_name)


def _add_thresholded_labels(scope, container, proba_name, label_name, float_type):
    """Multilabel: ``label = int64(proba > 0.5)``."""
    from onnx import TensorProto

    threshold_name = scope.get_unique_variable_name("threshold")
    container.add_initializer(threshold_name, float_type, [], [0.5])
    above_name = scope.get_unique_variable_name("above_threshold")
    container.add_node(
        "Greater",
        [proba_name, threshold_name],
        above_name,
        name=scope.get_unique_operator_name("Greater"),
    )
    container.add_node(
        "Cast",
        above_name,
        label_name,
        to=TensorProto.INT64,
        name=scope.get_unique_operator_name("Cast"),
    )


def _add_most_probable_labels(scope, operator, container, proba_name, label_name):
    """``label = classes_[argmax(proba)]`` (class indices with ``nocl=True``)."""
    label_type, labels = _label_values(scope, operator.raw_operator)
    classes_name = scope.get_unique_variable_name("classes")
    container.add_initializer(classes_name, label_type, [len(labels)], labels)
    # ArgMax keeps the first of tied maxima, as np.argmax does.
    best_index_name = scope.get_unique_variable_name("best_class_index")
    container.add_node(
        "ArgMax",
        proba_name,
        best_index_name,
        axis=1,
        keepdims=0,
        name=scope.get_unique_operator_name("ArgMax"),
    )
    container.add_node(
        "Gather",
        [classes_name, best_index_name],
        label_name,
        axis=0,
        name=scope.get_unique_operator_name("Gather"),
    )


def _convert_regressor(scope, operator, container):
    """``variable``, as `NNFSRegressor.predict` computes it, always 2-D: the
    network's outputs times ``target_scale_``, plus ``target_mean_``, each
    step left out where it changes nothing (a scale of 1, a mean of 0)."""
    regressor = operator.raw_operator
    mean, scale = regressor.target_mean_, regressor.target_scale_
    steps = [
        (op, kind, values)
        for op, kind, values, changes in (
            ("Mul", "target_scale", scale, (scale != 1).any()),
            ("Add", "target_mean", mean, mean.any()),
        )
        if changes
    ]
    names = [scope.get_unique_variable_name("network_output") for _ in steps]
    names.append(operator.outputs[0].full_name)
    float_type = _add_forward_pass(scope, operator, container, names[0])
    for (op, kind, values), input_name, out_name in zip(
        steps, names[:-1], names[1:], strict=True
    ):
        constant_name = _add_initializer(scope, container, kind, values, float_type)
        container.add_node(
            op,
            [input_name, constant_name],
            out_name,
            name=scope.get_unique_operator_name(op),
        )


def _add_forward_pass(scope, operator, container, output_name):
    """Add the network's nodes from the operator's input to ``output_name``.

    Each layer is ``MatMul`` by ``coefs_[i]``, ``Add`` of ``intercepts_[i]``,
    then the hidden activation, or after the last layer the output
    activation of the loss: the fitted network's, whatever the constructor
    parameters have been set to since the fit.

    Returns
    -------
    float_type : int
        The ``onnx.TensorProto`` element type of the computation: DOUBLE for
        a float64 input, FLOAT otherwise.
    """
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType

    estimator = operator.raw_operator
    network = estimator._network
    layers = list(zip(estimator.coefs_, estimator.intercepts_, strict=True))
    out_activation = OUT_ACTIVATIONS[network.loss_name]
    if getattr(estimator, "_one_logistic_output", False):
        # Two classes' one logit z as their logits (0, z), by a zero column
        # of weights and a zero bias: Softmax then gives predict_proba's
        # (1 - sigmoid(z), sigmoid(z)).
        layers[-1] = tuple(_two_class_logits(values) for values in layers[-1])
        out_activation = "softmax"
    hidden_op = _activation_op(HIDDEN_ACTIVATION_OPS, network.hidden_activation_name)
    output_op = _activation_op(OUTPUT_ACTIVATION_OPS, out_activation)
    if _input_tensor_type(operator) is DoubleTensorType:
        float_type = TensorProto.DOUBLE
    else:
        float_type = TensorProto.FLOAT
    values_name = _input_as(scope, operator, container, float_type)
    values_name = _add_numeric_encoding(
        scope, container, values_name, estimator.__dict__.get("bin_edges_"), float_type
    )
    for layer_index, (weights, biases) in enumerate(layers):
        is_output_layer = layer_index == len(layers) - 1
        activation_op = output_op if is_output_layer else hidden_op
        if is_output_layer and activation_op is None:
            sum_name = output_name
        else:
            sum_name = scope.get_unique_variable_name("preactivation")
        values_name = _add_dense_layer(
            scope, container, values_name, (weights, biases), float_type, sum_name
        )
        if activation_op is not None:
            activated_name = (
                output_name
                if is_output_layer
                else scope.get_unique_variable_name("activation")
            )
            _add_activation(
                scope, container, activation_op, values_name, activated_name
            )
            values_name = activated_name
    return float_type


def _input_as(scope, operator, container, float_type):
    """The name of the operator's input, cast to ``float_type`` if it is not."""
    from skl2onnx.common.data_types import guess_proto_type

    input_name = operator.inputs[0].full_name
    if guess_proto_type(operator.inputs[0].type) == float_type:
        return input_name
    cast_name = scope.get_unique_variable_name("cast_input")
    container.add_node(
        "Cast",
        input_name,
        cast_name,
        to=float_type,
        name=scope.get_unique_operator_name("Cast"),
    )
    return cast_name


def _add_numeric_encoding(scope, container, input_name, edges, float_type):
    """The network's inputs from ``numeric_bins``' encoding of the features
    (`sknnfs._numeric_encoding`), or ``input_name`` itself without it:
    ``Gather`` of each input's feature, ``Sub`` of its offset, ``Mul`` by its
    scale, then ``Max`` and ``Min`` with its clip bounds (infinite where it
    is not clipped)."""
    if edges is None:
        return input_name
    from onnx import TensorProto

    columns = encoding_columns(edges)
    source_name = scope.get_unique_variable_name("source_feature")
    container.add_initializer(
        source_name, TensorProto.INT64, [len(columns.source)], columns.source.tolist()
    )
    values_name = scope.get_unique_variable_name("encoded")
    container.add_node(
        "Gather",
        [input_name, source_name],
        values_name,
        axis=1,
        name=scope.get_unique_operator_name("Gather"),
    )
    for op, kind, values in (
        ("Sub", "bin_offset", columns.offset),
        ("Mul", "bin_scale", columns.scale),
        ("Max", "bin_lower", columns.lower),
        ("Min", "bin_upper", columns.upper),
    ):
        operand = _add_initializer(scope, container, kind, values, float_type)
        result_name = scope.get_unique_variable_name("encoded")
        container.add_node(
            op,
            [values_name, operand],
            result_name,
            name=scope.get_unique_operator_name(op),
        )
        values_name = result_name
    return values_name


def _add_dense_layer(scope, container, input_name, parameters, float_type, out_name):
    """``out = input @ weights + biases``, the parameters as initializers."""
    names = [
        _add_initializer(scope, container, kind, values, float_type)
        for kind, values in zip(("coefficient", "intercepts"), parameters, strict=True)
    ]
    product_name = scope.get_unique_variable_name("product")
    container.add_node(
        "MatMul",
        [input_name, names[0]],
        product_name,
        name=scope.get_unique_operator_name("MatMul"),
    )
    container.add_node(
        "Add",
        [product_name, names[1]],
        out_name,
        name=scope.get_unique_operator_name("Add"),
    )
    return out_name


def _add_initializer(scope, container, kind, values, float_type):
    """The name of a new initializer holding ``values`` in ``float_type``."""
    from onnx import TensorProto, numpy_helper

    float_dtype = np.float64 if float_type == TensorProto.DOUBLE else np.float32
    name = scope.get_unique_variable_name(kind)
    # from_array stores the exact bytes, cast once to the graph's dtype.
    container.add_initializer(
        name,
        float_type,
        list(values.shape),
        numpy_helper.from_array(np.asarray(values, dtype=float_dtype)),
    )
    return name


def _add_activation(scope, container, activation_op, input_name, out_name):
    # Softmax over the classes of each row: axis=1 means that in every
    # opset (before opset 13 the input is flattened to 2-D at the axis).
    attributes = {"axis": 1} if activation_op == "Softmax" else {}
    container.add_node(
        activation_op,
        input_name,
        out_name,
        name=scope.get_unique_operator_name(activation_op),
        **attributes,
    )


def _activation_op(activation_ops, activation):
    try:
        return activation_ops[activation]
    except KeyError:
        raise ValueError(
            f"No ONNX conversion for the activation {activation!r}; "
            f"known: {sorted(activation_ops)}"
        ) from None


# ------------------------------------------------------------------ labels
def _label_values(scope, classifier):
    """The labels of the graph's ``label`` output: exactly ``predict``'s.

    ONNX's labels here are skl2onnx's: int64 or UTF-8 strings. Integers,
    booleans (as 0 and 1) and whole floats whose values int64 holds exactly
    are int64, as skl2onnx gives them for its own classifiers; ``str``
    labels are strings. Anything else (dates, durations, unsigned or float
    values beyond int64, objects that are not all strings) has no exact
    ONNX label, and is refused rather than exported as other values.

    Returns
    -------
    label_type : int
        ``onnx.TensorProto.STRING`` or ``onnx.TensorProto.INT64``.
    labels : list of bytes or ndarray of shape (n_classes,)
        The class labels, or with ``nocl=True`` the class indices.

    Raises
    ------
    ValueError
        For labels with no exact ONNX counterpart, naming their dtype and
        the ways out.
    """
    from onnx import TensorProto
    from skl2onnx.common.utils_classifier import get_label_classes

    classes = np.asarray(get_label_classes(scope, classifier))
    if _label_kind(classes) == "str":
        return TensorProto.STRING, [label.encode("utf-8") for label in classes]
    if classes.dtype.kind in "biuf":
        with np.errstate(invalid="ignore"):  # NaN or out of range: checked below
            labels = classes.astype(np.int64)
        # Python compares ints with ints, bools and floats exactly.
        if labels.tolist() == classes.tolist():
            return TensorProto.INT64, labels
    raise ValueError(
        f"Cannot export the class labels of {type(classifier).__name__} to ONNX "
        f"exactly: its classes_ have dtype {classes.dtype} "
        f"({_why_not_labels(classes)}), and the graph's labels are int64 or "
        "strings. Refit on integer or string labels (e.g. y.astype(str)), or "
        "pass options={id(model): {'nocl': True}} for a graph whose labels are "
        "the class indices (classes_[label] is then the class)."
    )


def _why_not_labels(classes):
    reasons = {
        "M": "dates, which int64 would hold as counts of their unit",
        "m": "durations, which int64 would hold as counts of their unit",
        "O": "Python objects that are not all strings",
        "S": "bytes",
    }
    default = "values that int64 cannot hold exactly"
    return reasons.get(classes.dtype.kind, default)


def _check_class_labels_option(scope, classifier):
    """Refuse option ``output_class_labels`` where skl2onnx would build a
    graph that onnxruntime rejects.

    skl2onnx types its ``class_labels`` output by ``classes_``: int64 for
    int32 or int64 labels, strings for any other; but it builds them from
    the labels (class indices with ``nocl``), as int64 from integers and as
    strings only from ``str`` labels.
    """
    from skl2onnx.common.utils_classifier import get_label_classes

    options = scope.get_options(classifier, {"output_class_labels": False})
    if not options["output_class_labels"]:
        return
    kinds = {
        _label_kind(classifier.classes_),
        _label_kind(get_label_classes(scope, classifier)),
    }
    if kinds in ({"int64"}, {"str"}):
        return
    raise ValueError(
        "skl2onnx's option output_class_labels takes int32 or int64 class "
        f"labels, or string labels without nocl; {type(classifier).__name__}'s "
        f"classes_ have dtype {np.asarray(classifier.classes_).dtype}. Leave "
        "the option out: the graph's label output gives the labels, and "
        "classes_ lists them."
    )


def _label_kind(labels):
    """'str' for ``str`` labels, 'int64' for int32 or int64 ones, else None."""
    labels = np.asarray(labels)
    if labels.dtype in (np.int32, np.int64):
        return "int64"
    if labels.dtype.kind == "U" or (
        labels.dtype == object and all(isinstance(label, str) for label in labels)
    ):
        return "str"
    return None
