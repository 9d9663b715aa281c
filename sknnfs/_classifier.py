"""NNFSClassifier: the book's softmax classifier as a scikit-learn estimator."""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import log_loss
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._activations import log_softmax, sigmoid, softmax
from ._base import BaseNNFS, fit_context
from ._docstrings import EARLY_STOPPING_CHOICES, FITTED_ATTRIBUTES, fill_docstring
from ._lbfgs import partial_fit_is_available
from ._losses import SigmoidBinaryCrossentropy
from ._mlp_names import keywords_after_X_y
from ._prediction import predict_outputs

__all__ = ["NNFSClassifier"]


def _check_label_types(labels, name):
    """Reject labels mixing strings and numbers, which have no common order.

    NumPy already turns a *list* mixing them into strings (as it does for
    every scikit-learn classifier); only an object array keeps both types.
    """
    if labels.dtype != object:
        return
    is_string = {isinstance(label, str) for label in labels.ravel()}
    if len(is_string) > 1:
        raise ValueError(
            f"Mix of label input types (string and number) in {name}: "
            f"{sorted({repr(label) for label in labels.ravel()})}"
        )


def _dense_indicator(y):
    """A sparse multilabel indicator ``y`` as a dense array; other sparse y raise.

    Only ``y`` is densified: it has one column per label.
    """
    if type_of_target(y, input_name="y") != "multilabel-indicator":
        raise ValueError(
            "A sparse y must be a multilabel indicator matrix of 0/1 values; "
            "pass class labels as a dense 1-d array."
        )
    return y.toarray()


def _check_indicator(y, name):
    """A multilabel ``y`` holds only 0 and 1: any other pair is a guess."""
    values = np.unique(y)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"A multilabel indicator {name} must hold only 0 (label absent) and "
            f"1 (label present); got the values {values.tolist()}. Convert it, "
            f"e.g. ({name} > 0).astype(int) if positive values mean present."
        )


def _dict_class_weights(class_weight, classes):
    """The weight of each class in ``classes`` from a ``class_weight`` dict.

    Classes the dict leaves out weigh 1. A key that is no class is an error
    unless every class has a weight, as in scikit-learn's classifiers (so a
    dict written for every class of a data set still fits a cross-validation
    fold that lacks one). Keys are matched by equality, as dict lookups do;
    ``compute_class_weight`` would turn the labels ``'1'`` and ``0.5`` into
    the numbers 1 and 0 before matching.
    """
    _check_class_weight_values(class_weight)
    labels = set(classes.tolist())
    unknown_keys = [key for key in class_weight if key not in labels]
    unweighted = [label for label in classes.tolist() if label not in class_weight]
    if unknown_keys and unweighted:
        raise ValueError(
            f"class_weight has keys that are no class: {unknown_keys!r}, and "
            f"the classes {unweighted!r} are not in class_weight. The classes "
            f"are {classes.tolist()!r}; a key must equal a class label, type "
            "included (the number 1 and the string '1' are different labels)."
        )
    return np.array([class_weight.get(label, 1.0) for label in classes.tolist()])


def _check_class_weight_values(class_weight):
    for key, value in class_weight.items():
        if not (isinstance(value, Real) and np.isfinite(value) and value >= 0):
            raise ValueError(
                "class_weight must map classes to finite, non-negative weights; "
                f"got {value!r} for class {key!r}"
            )


def _log_sigmoid(logits):
    return -np.logaddexp(0, -logits)


def _two_class_logits(logits):
    """A two-class problem's one logit ``z`` as the logits ``(0, z)`` of its classes.

    The softmax of ``(0, z)`` is ``(1 - sigmoid(z), sigmoid(z))``: one logistic
    output unit, `MLPClassifier`'s, is a softmax whose first logit is pinned
    at 0. It has half the output weights of two softmax units, whose logits
    move apart at twice the pace and over-fit sooner.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, 1)

    Returns
    -------
    class_logits : ndarray of shape (n_samples, 2)
    """
    return np.hstack([np.zeros_like(logits), logits])


class NNFSClassifier(ClassifierMixin, BaseNNFS):
    """Multilayer perceptron classifier built from the book's NumPy blocks.

    Dense + activation hidden layers and a softmax output layer, trained by
    minibatch gradient descent on the mean categorical cross-entropy plus the
    L1/L2 penalties. Two classes have one sigmoid output, the book's binary
    logistic regression, as `MLPClassifier` has; with a multilabel indicator
    ``y`` the output layer is a sigmoid per label. The loss of a sigmoid
    output is the mean binary cross-entropy.

    .. important::
       ``score`` returns the **negated mean cross-entropy** (``-log_loss``),
       not accuracy: greater is better, as with scikit-learn's
       ``neg_log_loss`` scorer. ``cross_val_score(clf, X, y)`` therefore
       reports negative log-loss; pass ``scoring="accuracy"`` for accuracy.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's own perceptron.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknnfs import NNFSClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NNFSClassifier(hidden_layer_sizes=(16,), learning_rate=0.01,
    ...                      batch_size=16, max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict(X[[0, 50, 100]])
    array([0, 1, 2])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    >>> clf.score(X, y) > -0.2   # negated log-loss: greater is better
    True
    """

    _parameter_constraints: dict = {
        **BaseNNFS._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="adam",
        learning_rate=0.0015,
        decay=0.0,
        learning_rate_schedule="constant",
        power_t=0.5,
        momentum=0.9,
        nesterov=False,
        rho=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_init="glorot",
        bias_init="glorot",
        l1=0.0,
        l2=1e-3,
        bias_l1=0.0,
        bias_l2=0.0,
        weight_decay=0.0,
        dropout=0.0,
        label_smoothing=0.0,
        batch_size="auto",
        max_iter=1000,
        max_fun=15000,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=24,
        early_stopping="auto",
        validation_fraction=0.1,
        class_weight=None,
        dtype=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        numeric_bins=None,
        categorical_features="from_dtype",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            optimizer=optimizer,
            learning_rate=learning_rate,
            decay=decay,
            learning_rate_schedule=learning_rate_schedule,
            power_t=power_t,
            momentum=momentum,
            nesterov=nesterov,
            rho=rho,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            weight_init=weight_init,
            bias_init=bias_init,
            l1=l1,
            l2=l2,
            bias_l1=bias_l1,
            bias_l2=bias_l2,
            weight_decay=weight_decay,
            dropout=dropout,
            batch_size=batch_size,
            max_iter=max_iter,
            max_fun=max_fun,
            shuffle=shuffle,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            dtype=dtype,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            numeric_bins=numeric_bins,
            categorical_features=categorical_features,
        )
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing

    def __setstate__(self, state):
        super().__setstate__(state)
        # Pickled before label smoothing: the value those classifiers trained with.
        self.__dict__.setdefault("label_smoothing", 0.0)

    # ------------------------------------------------------------------- fit
    @fit_context
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; sparse CSR/CSC input is never densified.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each sample's loss (the loss is the weighted mean).

        Returns
        -------
        self : NNFSClassifier
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(partial_fit_is_available)
    @fit_context
    @keywords_after_X_y
    def partial_fit(self, X, y, *, classes=None, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current weights.

        ``classes`` and ``sample_weight`` are keywords only:
        `~sklearn.neural_network.MLPClassifier`'s ``partial_fit`` takes
        ``(X, y, sample_weight, classes)`` and
        `~sklearn.linear_model.SGDClassifier`'s ``(X, y, classes,
        sample_weight)``, so a third positional argument raises a TypeError
        rather than be read as the wrong one.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever be seen; required on the first call
            (for multilabel ``y``, ``np.arange(n_labels)`` or None).
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each sample's loss (the loss is the weighted mean).

        Returns
        -------
        self : NNFSClassifier
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    # -------------------------------------------------------------- targets
    def _validate_targets(self, y):
        y = _dense_indicator(y) if sp.issparse(y) else np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. "
                "Please change the shape of y to (n_samples,), for example "
                "using ravel().",
                DataConversionWarning,
                stacklevel=5,
            )
            y = y[:, 0]
        _check_label_types(y, "y")
        check_classification_targets(y)
        if type_of_target(y, input_name="y") == "multiclass-multioutput":
            # Otherwise a 2-D y of several labels per column would be taken
            # for a label vector and fail deep inside the loss.
            raise ValueError(
                "NNFSClassifier does not support multiclass-multioutput targets: "
                "a 2-D y must be a multilabel indicator matrix of 0/1 values. "
                "For several multiclass outputs, use "
                "sklearn.multioutput.MultiOutputClassifier."
            )
        # Valid 2-D targets are now multilabel indicators, and only they.
        if y.ndim == 2:
            _check_indicator(y, "y")
        return y

    def _init_targets(self, y, *, classes, incremental, sample_weight, target_moments):
        self._multilabel = y.ndim == 2
        if self._multilabel:
            self.classes_ = np.arange(y.shape[1])
        elif classes is not None:
            classes = np.asarray(classes)
            _check_label_types(classes, "classes")
            if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
                raise ValueError(
                    f"classes must be a 1-d array of distinct labels; got {classes!r}"
                )
            self.classes_ = np.sort(classes)
        elif incremental:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        else:
            self.classes_ = np.unique(y)
        if not self._multilabel and len(self.classes_) < 2:
            raise ValueError(
                "NNFSClassifier needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {self.classes_[0]!r}"
            )
        two_classes = not self._multilabel and len(self.classes_) == 2
        self.n_outputs_ = 1 if two_classes else len(self.classes_)

    @property
    def _one_logistic_output(self):
        """Whether two classes share one sigmoid output unit (`_two_class_logits`).

        Two-class models fitted before sknnfs had this unit (up to commit
        461f2de) have two softmax units, and keep them.
        """
        return not self._multilabel and self.n_outputs_ == 1

    def _check_warm_start_targets(self, y):
        if self._multilabel or y.ndim != 1:
            return  # `_encode_targets` checks the kind of y and the labels
        labels = np.unique(y)
        if np.array_equal(labels, self.classes_):
            return
        differences = [
            f"{how} {classes}"
            for how, classes in (
                ("lacks", np.setdiff1d(self.classes_, labels)),
                ("adds", np.setdiff1d(labels, self.classes_)),
            )
            if len(classes)
        ]
        # The message starts as MLPClassifier's.
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in "
            f"the previous call to fit. Previously got {self.classes_}, `y` has "
            f"{labels}: it {' and '.join(differences)}. partial_fit can train "
            "on a subset of the classes."
        )

    def _encode_targets(self, y, *, classes, dtype):
        if classes is not None and not np.array_equal(
            np.sort(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={classes!r} is not the same as on the first call to "
                f"partial_fit: {self.classes_!r}"
            )
        multilabel = y.ndim == 2
        if multilabel != self._multilabel:
            raise ValueError(
                "y is "
                + ("a multilabel indicator matrix" if multilabel else "a label vector")
                + " but the classifier was fitted on "
                + ("multilabel" if self._multilabel else "single-label")
                + " targets"
            )
        if not multilabel:
            class_indices = self._encode(y)
            if self._one_logistic_output:  # the book's (n_samples, 1) 0/1 column
                return class_indices[:, np.newaxis].astype(dtype)
            return class_indices
        if y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} labels but the classifier was fitted "
                f"with {self.n_outputs_}"
            )
        return y.astype(dtype, copy=False)

    def _encode(self, y):
        """Class labels to their indices in ``classes_``; unknown labels raise."""
        encoded = np.searchsorted(self.classes_, y)
        encoded = np.minimum(encoded, len(self.classes_) - 1)
        unknown = self.classes_[encoded] != y
        if np.any(unknown):
            raise ValueError(
                f"y contains labels not in classes: {np.unique(y[unknown])!r}; "
                f"the classes are {self.classes_!r}"
            )
        return encoded

    def _class_indices(self, y_encoded):
        """Single-label ``y_encoded`` as class indices of shape (n_samples,)."""
        if self._one_logistic_output:
            return y_encoded[:, 0].astype(np.intp)
        return y_encoded

    def _loss_name(self):
        if self._multilabel or self._one_logistic_output:
            return "sigmoid_crossentropy"
        return "softmax_crossentropy"

    def _class_logits(self, logits):
        """Single-label logits, one a class: a logistic unit's ``z`` as ``(0, z)``."""
        return _two_class_logits(logits) if self._one_logistic_output else logits

    def _probabilities(self, logits):
        """Class (or label) probabilities from the network's logits."""
        if self._multilabel:
            return sigmoid(logits)
        return softmax(self._class_logits(logits))

    def _log_probabilities(self, logits):
        """Logarithms of `_probabilities`, by log-sum-exp."""
        if self._multilabel:
            return _log_sigmoid(logits)
        return log_softmax(self._class_logits(logits))

    def _stratify_labels(self, y_encoded):
        return None if self._multilabel else self._class_indices(y_encoded)

    def _sample_weight_factors(self, y_encoded, sample_weight, *, incremental):
        if self.class_weight is None:
            return None
        if self._multilabel:
            raise ValueError("class_weight is not supported for multilabel y")
        class_indices = self._class_indices(y_encoded)
        if self.class_weight != "balanced":
            return _dict_class_weights(self.class_weight, self.classes_)[class_indices]
        if incremental:
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: the "
                "class frequencies of the whole data are unknown. Pass a dict."
            )
        # A class whose samples all weigh zero has no frequency: its weight
        # comes out infinite, and is zero here, as its samples' weights are.
        with np.errstate(divide="ignore"):
            class_weights = compute_class_weight(
                "balanced",
                classes=np.arange(len(self.classes_)),
                y=class_indices,
                sample_weight=sample_weight,
            )
        class_weights[~np.isfinite(class_weights)] = 0.0
        return class_weights[class_indices]

    def _label_smoothing(self):
        return self.label_smoothing

    def _validation_score(self, outputs, y_encoded, sample_weight):
        # The network's plain loss, not its (label-smoothed) training loss.
        return -float(
            np.average(
                self._network.loss.forward(outputs, y_encoded), weights=sample_weight
            )
        )

    # ------------------------------------------------------------ prediction
    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one (for multilabel ``y``: one independent
            probability per label).
        """
        return self._predict_outputs(X, self._probabilities)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed from the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Finite for any finite input.
        """
        return self._predict_outputs(X, self._log_probabilities)

    def predict(self, X):
        """Most probable class of each sample (multilabel: labels with p > 0.5).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(int)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Negated mean cross-entropy of the predictions: greater is better.

        Exactly ``-sklearn.metrics.log_loss(y, self.predict_proba(X),
        labels=self.classes_, sample_weight=sample_weight)``; for multilabel
        ``y`` the negated mean binary cross-entropy over labels and samples.
        Use ``scoring="accuracy"`` in model selection for accuracy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        if sp.issparse(y):
            y = _dense_indicator(y)
        X, y, sample_weight = self._check_score_inputs(X, y, sample_weight)
        if self._multilabel:
            logits = predict_outputs(self._network, X, lambda logits: logits)
            if y.shape != logits.shape:
                raise ValueError(
                    f"y has shape {y.shape}; expected {logits.shape} for this "
                    "multilabel classifier"
                )
            _check_indicator(y, "y")
            sample_losses = SigmoidBinaryCrossentropy().forward(logits, y)
            return -float(np.average(sample_losses, weights=sample_weight))
        return -log_loss(
            y,
            predict_outputs(self._network, X, self._probabilities),
            labels=self.classes_,
            sample_weight=sample_weight,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


fill_docstring(
    NNFSClassifier,
    attributes=["classes_", *FITTED_ATTRIBUTES],
    overrides={
        "learning_rate": (
            "float",
            "Initial learning rate of every optimizer. The default, above "
            "`MLPClassifier`'s ``0.001``, trains small data sets further in "
            "the default 200 epochs (user guide, 'Defaults, and how they were "
            "chosen').",
        ),
        "l2": (
            "float",
            "Penalty ``l2 * sum(W**2)`` on every weight matrix, added to each "
            "batch's loss as in the book. The default keeps the probabilities "
            "from growing over-confident: at `MLPClassifier`'s negligible "
            "penalty, the cross-validated log-loss of the data sets that "
            "over-fit was 15-16 % above MLP's (user guide, 'Defaults, and how "
            "they were chosen'). ``0`` switches it off.",
        ),
        "n_iter_no_change": (
            "int",
            "Stop after this many epochs without progress. The default waits "
            "longer than `MLPClassifier`: on unscaled features the loss is "
            "noisy, and stopping sooner cost accuracy (user guide, 'Defaults, "
            "and how they were chosen').",
        ),
        "early_stopping": (
            "'auto' or bool",
            "Hold out ``validation_fraction`` of the data (stratified), stop "
            "when its score (the negated log-loss) stops improving, and keep "
            "the best epoch's weights. " + EARLY_STOPPING_CHOICES,
        ),
        "out_activation_": (
            "{'softmax', 'logistic'}",
            "``'logistic'`` for two classes (one sigmoid unit, as "
            "`MLPClassifier`) and for multilabel ``y`` (a sigmoid per label).",
        ),
    },
)
