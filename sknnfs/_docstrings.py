"""The estimators' parameter and attribute documentation, written once.

`NNFSClassifier` and `NNFSRegressor` share most of their parameters. Each
estimator's docstring has ``{parameters}`` and ``{attributes}`` slots that
`fill_docstring` fills from the descriptions below, in the order of the
estimator's signature and with the defaults read from it, so that
``help(NNFSRegressor)`` documents each of its own parameters and no default
is written twice.
"""

import inspect
import re
import textwrap

__all__ = ["EARLY_STOPPING_CHOICES", "FITTED_ATTRIBUTES", "fill_docstring"]

# What 'auto', True and False do: the end of each estimator's description.
EARLY_STOPPING_CHOICES = (
    "``'auto'`` does so in every ``fit`` with a stochastic optimizer whose "
    "data can spare a validation split (more than two samples of positive "
    "weight, and at least two held out), and otherwise (``partial_fit``, "
    "``optimizer='lbfgs'``, too little data) trains on all the data, "
    "without an error; ``do_early_stopping_`` says which it did. ``True`` "
    "always does so, and is an error where it cannot. ``False`` trains on "
    "all the data until ``max_iter`` or until the training loss stops "
    "improving, as the book and MLP's default do."
)

# name -> (type, description); the default comes from the signature.
PARAMETERS = {
    "loss": (
        "{'squared_error', 'absolute_error', 'poisson'}",
        "Mean squared error or mean absolute error, averaged over outputs; or "
        "half the Poisson deviance, as `MLPRegressor`'s ``'poisson'``, with "
        "an exponential output (the network predicts the log of the mean) "
        "and non-negative targets.",
    ),
    "target_scaling": (
        "{'standard'} or None",
        "``'standard'`` trains the network on ``(y - mean) / scale`` and "
        "predicts ``outputs * scale + mean``, as RealMLP does (Holzmüller et "
        "al. 2024): ``mean`` and ``scale`` are each output's mean and "
        "standard deviation, weighted by ``sample_weight`` (scale 1 for a "
        "constant output), so that the learning rate, initial weights and "
        "penalties suit targets of any size. Under ``loss='poisson'`` the "
        "targets are only divided by ``scale``, which keeps them "
        "non-negative (the exponential output absorbs the factor). ``fit`` "
        "learns them (``target_mean_``, ``target_scale_``), and so does the "
        "first ``partial_fit`` from its rows; later ``partial_fit`` calls and "
        "a warm start keep them, whatever ``target_scaling`` says then: the "
        "weights were learnt for them. ``None`` trains on the raw targets, "
        "as the book does. The training losses (``loss_``, ``loss_curve_``, "
        "``best_loss_``) are those of the targets the network learns; "
        "``score`` is R² in y's units, and the validation R² of early "
        "stopping is the same in either.",
    ),
    "hidden_layer_sizes": (
        "array-like of int",
        "Number of neurons (at least 1) of each hidden layer; ``()`` gives a "
        "network with no hidden layer (softmax regression for the classifier, "
        "linear regression for the regressor).",
    ),
    "activation": (
        "{'relu', 'sigmoid', 'tanh', 'linear'}",
        "Activation of the hidden layers.",
    ),
    "optimizer": (
        "{'adam', 'sgd', 'adagrad', 'rmsprop', 'lbfgs'}",
        "The book's optimizers (see `sknnfs.Adam`, `sknnfs.SGD`, "
        "`sknnfs.Adagrad` and `sknnfs.RMSprop`), or ``'lbfgs'``: scipy's "
        "L-BFGS-B on the loss over the whole training set, as "
        "``MLPClassifier(solver='lbfgs')``, often the better choice for small "
        "data sets. With ``'lbfgs'``, ``max_iter`` counts its iterations, "
        "``max_fun`` its loss evaluations and ``tol`` is its gradient "
        "tolerance; the minibatch, learning-rate and stopping-rule "
        "parameters are ignored; ``dropout > 0``, ``weight_decay > 0``, "
        "``early_stopping=True`` and ``partial_fit`` are errors. L-BFGS "
        "assumes a smooth loss, and the L1 penalties are not differentiable "
        "at zero: it follows their subgradient ``l1 * sign(W)`` (0 at 0), "
        "which moves weights towards zero but rarely onto it. A float32 "
        "network evaluates in float32; "
        "scipy's iterates are float64.",
    ),
    "learning_rate": ("float", "Initial learning rate of every optimizer."),
    "decay": (
        "float",
        "The book's learning-rate decay per step: the schedule's rate is "
        "divided by ``1 + decay * t``, ``t`` counting the optimizer's steps.",
    ),
    "learning_rate_schedule": (
        "{'constant', 'invscaling', 'adaptive', 'cosine', 'flat_cosine'}",
        "`MLPClassifier`'s ``learning_rate`` schedules and RealMLP's cosines "
        "(Holzmüller et al. 2024), for every optimizer but ``'lbfgs'``. "
        "``'constant'`` keeps ``learning_rate``. ``'invscaling'`` sets it to "
        "``learning_rate / (t_ + 1) ** power_t`` after each epoch, ``t_`` "
        "counting the training samples seen. ``'adaptive'`` divides it by 5 "
        "each time the stopping rule would stop (``partial_fit`` too), "
        "instead of stopping, and stops when such a plateau comes with the "
        "rate already at most 1e-6. ``'cosine'`` runs epoch ``e`` (from 0) "
        "at ``learning_rate * (1 + cos(pi * e / max_iter)) / 2``, from "
        "``learning_rate`` towards 0 after the last epoch; ``'flat_cosine'`` "
        "keeps ``learning_rate`` for the first half of ``max_iter``, then "
        "follows the cosine to 0 over the second half. The cosines anneal "
        "over the ``max_iter`` epochs of each fit (a warm start runs them "
        "again from ``learning_rate``; early stopping may end the fit before "
        "the rate is low), and ``partial_fit``, which has no last epoch, "
        "refuses them. ``decay`` multiplies into each schedule.",
    ),
    "power_t": ("float", "Exponent of the ``'invscaling'`` schedule."),
    "momentum": ("float", "Momentum of ``'sgd'``."),
    "nesterov": (
        "bool",
        "Nesterov's momentum for ``'sgd'`` (`MLPClassifier`'s "
        "``nesterovs_momentum``): each step adds ``momentum * v - lr_t * g`` "
        "with the updated velocity ``v``, instead of ``v``.",
    ),
    "rho": ("float", "Cache decay of ``'rmsprop'``."),
    "beta_1": ("float", "Decay of the first moment estimates of ``'adam'``."),
    "beta_2": ("float", "Decay of the second moment estimates of ``'adam'``."),
    "epsilon": (
        "float",
        "Numerical stability term of ``'adagrad'``, ``'rmsprop'`` and "
        "``'adam'``. The default is `MLPClassifier`'s; the book uses ``1e-7``.",
    ),
    "weight_init": (
        "{'he', 'glorot', 'nnfs'}",
        "Initial weights: He normal, Glorot uniform, or the book's "
        "``0.01 * N(0, 1)``. Glorot by default, as `MLPClassifier`: He's "
        "larger weights fitted worse, most on unscaled features (user "
        "guide, 'Defaults, and how they were chosen').",
    ),
    "bias_init": (
        "{'zeros', 'glorot'}",
        "Initial biases: zero, as in the book, or Glorot uniform "
        "``U(-a, a)``, ``a = sqrt(6 / (n_inputs + n_neurons))``, the draw "
        "`MLPClassifier` makes for its intercepts. With "
        "``weight_init='glorot'`` (the defaults) the network starts as "
        "`MLPClassifier` does.",
    ),
    "l1": (
        "float",
        "Penalty ``l1 * sum(|W|)`` on every weight matrix, added to each "
        "batch's loss as in the book.",
    ),
    "l2": (
        "float",
        "Penalty ``l2 * sum(W**2)`` on every weight matrix, added to each "
        "batch's loss as in the book.",
    ),
    "bias_l1": ("float", "Penalty ``bias_l1 * sum(|b|)`` on every bias vector."),
    "bias_l2": ("float", "Penalty ``bias_l2 * sum(b**2)`` on every bias vector."),
    "weight_decay": (
        "float",
        "Decoupled weight decay (AdamW, Loshchilov & Hutter 2019; a trick of "
        "RealMLP, Holzmüller et al. 2024), for every optimizer but "
        "``'lbfgs'`` (where it is an error): each step first multiplies every "
        "weight matrix, not the biases, by ``1 - lr_t * weight_decay``, "
        "``lr_t`` the step's scheduled and decayed learning rate, as "
        "``torch.optim.AdamW`` does. Unlike ``l2``, it is no term of the "
        "loss, so Adam's scaling of the gradient does not weaken it where "
        "gradients are large. ``0`` switches it off.",
    ),
    "dropout": (
        "float in [0, 1)",
        "Fraction of each hidden layer's units dropped while training "
        "(inverted dropout: nothing changes at prediction time).",
    ),
    "label_smoothing": (
        "float in [0, 1)",
        "Label smoothing of the training loss (Szegedy et al. 2016; a trick "
        "of RealMLP, Holzmüller et al. 2024): a sample of class ``k`` is "
        "trained towards ``(1 - label_smoothing) * onehot(k) + "
        "label_smoothing / n_classes`` instead of ``onehot(k)``; each "
        "sigmoid output (two classes, or a label of a multilabel ``y``) "
        "towards ``y * (1 - label_smoothing) + label_smoothing / 2``. It "
        "acts in the training loss only (``loss_``, ``loss_curve_`` and, "
        "with ``'lbfgs'``, the objective are the smoothed loss): "
        "``predict_proba``, ``score`` and the early-stopping validation "
        "score are the plain log-loss. ``0`` switches it off.",
    ),
    "batch_size": (
        "int or 'auto'",
        "Minibatch size; ``'auto'`` is ``min(200, n_samples)``.",
    ),
    "max_iter": (
        "int",
        "Maximum number of epochs (with ``'lbfgs'``: of L-BFGS iterations). "
        "1000, where `MLPClassifier` has 200: with early stopping (the "
        "default), the validation score ends a fit, and at 200 the cap "
        "ended fits that were still improving (user guide, 'Defaults, and "
        "how they were chosen'). ``max_iter=200`` is MLP's setting.",
    ),
    "max_fun": (
        "int",
        "With ``'lbfgs'`` only: maximum number of loss evaluations, as "
        "scipy's ``maxfun`` (checked at the end of each iteration, so a "
        "run can exceed it by a few).",
    ),
    "shuffle": ("bool", "Shuffle the samples before each epoch."),
    "tol": (
        "float",
        "Minimum improvement of the training loss (or, with early stopping, "
        "of the validation score) that counts as progress. With "
        "``'lbfgs'``, as in `MLPClassifier`: L-BFGS-B stops when no "
        "component of the gradient exceeds ``tol`` (scipy's ``gtol``).",
    ),
    "n_iter_no_change": (
        "int",
        "Stop when more than this many epochs in a row have made no progress, "
        "as `MLPClassifier` stops: the count goes on from one call to the "
        "next (a warm start or partial_fit).",
    ),
    "early_stopping": (
        "'auto' or bool",
        "Hold out ``validation_fraction`` of the data, stop when its score "
        "stops improving, and keep the best epoch's weights. " + EARLY_STOPPING_CHOICES,
    ),
    "validation_fraction": (
        "float in (0, 1)",
        "Fraction of the data held out for early stopping.",
    ),
    "class_weight": (
        "dict, 'balanced' or None",
        "Weights multiplying each sample's loss by its class: a dict "
        "``{label: weight}`` of finite, non-negative weights (labels it "
        "leaves out weigh 1), or ``'balanced'``, ``n_samples / (n_classes * "
        "bincount(y))`` with the counts weighted by ``sample_weight``. Not "
        "for multilabel ``y``.",
    ),
    "dtype": (
        "{'float32', 'float64'}, numpy.float32, numpy.float64 or None",
        "``None`` trains in float32 when ``X`` is float32 (of either byte "
        "order, or a DataFrame of float32 columns), else in float64.",
    ),
    "warm_start": (
        "bool",
        "Continue from the current weights on the next ``fit``, with that "
        "call's penalties, dropout and optimizer settings (and a new "
        "optimizer). ``hidden_layer_sizes``, ``activation``, ``dtype`` and "
        "the regressor's ``loss`` cannot change: that is a ValueError.",
    ),
    "random_state": (
        "int, RandomState instance or None",
        "Seeds the initial weights, the shuffling, dropout and the validation "
        "split. NumPy's global random state is never used or changed.",
    ),
    "verbose": (
        "int",
        "``1`` prints one line per epoch (epoch, loss, validation score, seconds).",
    ),
    "numeric_bins": (
        "int >= 2, 'auto' or None",
        "An int encodes each feature with more than two distinct training "
        "values piecewise linearly over (at most) that many quantile bins "
        "(Gorishniy et al. 2022; `sknnfs._numeric_encoding`): one network "
        "input per bin, 0 left of it, 1 right of it and linear inside (the "
        "outer bins extrapolate), which lets the first layer bend the fit at "
        "the quantiles, where trees split. The network starts as it would on "
        "the features themselves, their tails compressed. Indicator and "
        "one-hot columns go in as they are. ``'auto'`` is 16 bins for "
        "``fit`` on dense ``X``, and "
        "the features as they are for sparse ``X``, ``partial_fit`` and a "
        "Dask cluster. ``None`` gives the network the features as they are, "
        "as the book does. ``fit`` learns the edges (``bin_edges_``, "
        "weighted by ``sample_weight``), and so does the first "
        "``partial_fit`` from its rows; later calls and a warm start keep "
        "them, whatever ``numeric_bins`` "
        "says then. The first layer has one row per network input "
        "(``coefs_[0]``). An int needs dense ``X`` and one machine.",
    ),
    "categorical_features": (
        "None, 'from_dtype' or array-like of bool, int or str",
        "The categorical features, as `HistGradientBoostingClassifier` "
        "names them: ``'from_dtype'`` takes a DataFrame's columns of "
        "dtype ``category`` (polars: ``Categorical``, ``Enum``); or a "
        "boolean mask, integer indices, or column names (of text, "
        "numbers or anything `OneHotEncoder` takes); None takes every "
        "feature as a number. The network gets one input per category seen "
        "in training (`sknnfs._categories`), so each category has its row "
        "of first-layer weights, an embedding. A missing value (None, NaN) "
        "is a category when training has one; an unknown category gets "
        "zeros. ``fit`` learns the categories (``is_categorical_``); later "
        "``partial_fit`` calls and a warm start keep them. Needs dense "
        "``X`` and one machine.",
    ),
}

# The fitted attributes of both estimators, in the order they are documented.
FITTED_ATTRIBUTES = [
    "n_features_in_",
    "feature_names_in_",
    "is_categorical_",
    "bin_edges_",
    "coefs_",
    "intercepts_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "do_early_stopping_",
    "validation_scores_",
    "best_validation_score_",
]

# name -> (type, description).
ATTRIBUTES = {
    "classes_": (
        "ndarray of shape (n_classes,)",
        "Class labels (for multilabel ``y``, the label indices).",
    ),
    "n_features_in_": ("int", "Number of features seen during fit."),
    "feature_names_in_": (
        "ndarray of shape (n_features_in_,)",
        "Defined when ``X`` has string feature names (a DataFrame).",
    ),
    "is_categorical_": (
        "ndarray of shape (n_features_in_,), bool, or None",
        "Which features ``categorical_features`` made categorical; None if none.",
    ),
    "bin_edges_": (
        "list of (ndarray or None), or None",
        "The quantile bin edges of each feature encoded by ``numeric_bins`` "
        "(None for a feature given as it is), one item per feature, or with "
        "categorical features, per numeric feature and then per one-hot "
        "column of the categories (each None); None without "
        "``numeric_bins``.",
    ),
    "coefs_": (
        "list of ndarray",
        "``coefs_[i]`` is the weight matrix of layer ``i``, of shape "
        "(n_units_i, n_units_i+1).",
    ),
    "intercepts_": (
        "list of ndarray",
        "``intercepts_[i]`` is the bias vector of layer ``i``, of shape "
        "(n_units_i+1,).",
    ),
    "n_layers_": ("int", "Number of layers, input and output included."),
    "n_outputs_": ("int", "Number of output units."),
    "out_activation_": ("str", "Activation of the output layer."),
    "target_mean_": (
        "ndarray of shape (``n_outputs_``,)",
        "Added to the network's outputs to predict (float64): each output's "
        "weighted mean of y; 0 under ``loss='poisson'`` and with "
        "``target_scaling=None``.",
    ),
    "target_scale_": (
        "ndarray of shape (``n_outputs_``,)",
        "Multiplies the network's outputs to predict (float64): each "
        "output's weighted standard deviation of y; 1 for a constant output "
        "and with ``target_scaling=None``.",
    ),
    "n_iter_": (
        "int",
        "Epochs run by the latest ``fit`` (with ``'lbfgs'``: L-BFGS "
        "iterations), as `MLPClassifier` counts them: a warm start counts "
        "again from 0, and after ``partial_fit`` it is 1.",
    ),
    "t_": (
        "int",
        "Training samples seen by every call so far (with ``'lbfgs'``: "
        "``n_samples`` per iteration).",
    ),
    "loss_": (
        "float",
        "Training loss of the last epoch (mean data loss plus penalty).",
    ),
    "loss_curve_": (
        "list of float",
        "Training loss of every epoch of every call so far (with "
        "``'lbfgs'``: at the end of every iteration).",
    ),
    "best_loss_": (
        "float or None",
        "Lowest training loss (None with early stopping).",
    ),
    "do_early_stopping_": (
        "bool",
        "Whether the last ``fit`` held out a validation split and kept its "
        "best epoch: ``early_stopping`` as resolved for that fit (``'auto'`` "
        "is True in a ``fit`` with a stochastic optimizer on data large "
        "enough to split). Always False after ``partial_fit``.",
    ),
    "validation_scores_": (
        "list of float or None",
        "Validation score of every epoch (with early stopping).",
    ),
    "best_validation_score_": (
        "float or None",
        "With early stopping, the validation score of the weights kept: the "
        "best of the last fit's epochs (and, after a warm start, of the "
        "weights it started from) on that fit's validation split.",
    ),
}


def _entries(names, descriptions, defaults, indent):
    lines = []
    for name in names:
        kind, text = descriptions[name]
        if name in defaults:
            kind = f"{kind}, default={defaults[name]!r}"
        lines.append(f"{indent}{name} : {kind}")
        # Wrapped between words, never inside a ``literal``.
        unbreakable = re.sub(r"``.*?``", lambda m: m[0].replace(" ", "\0"), text)
        wrapped = textwrap.wrap(
            unbreakable,
            79,
            initial_indent=indent + "    ",
            subsequent_indent=indent + "    ",
        )
        lines += [line.replace("\0", " ") for line in wrapped]
    return "\n".join(lines).lstrip()


def fill_docstring(estimator_class, attributes, overrides=None):
    """Fill the ``{parameters}`` and ``{attributes}`` slots of a class docstring.

    Parameters
    ----------
    estimator_class : type
        Its ``__init__`` signature gives the parameters, in order, and their
        defaults.
    attributes : sequence of str
        The fitted attributes to document, in order.
    overrides : dict, optional
        ``name -> (type, description)`` replacing the shared text of a
        parameter or attribute for this estimator.

    Returns
    -------
    estimator_class
    """
    descriptions = {**PARAMETERS, **ATTRIBUTES, **(overrides or {})}
    signature = inspect.signature(estimator_class.__init__)
    defaults = {
        name: parameter.default
        for name, parameter in signature.parameters.items()
        if name != "self"
    }
    doc = estimator_class.__doc__
    slot_indent = doc[: doc.index("{parameters}")].rsplit("\n", 1)[1]
    doc = doc.replace(
        "{parameters}", _entries(defaults, descriptions, defaults, slot_indent)
    )
    doc = doc.replace(
        "{attributes}", _entries(attributes, descriptions, {}, slot_indent)
    )
    estimator_class.__doc__ = doc
    return estimator_class
