"""Data-parallel training on a Dask cluster: ``fit`` on dask collections.

When ``fit`` receives a dask array or DataFrame and a ``distributed.Client``
is current, the estimator trains on that cluster and ends as the ordinary
fitted estimator. The data stay on the workers, partition by partition; the
client sends parameters and receives sums.

- ``optimizer='lbfgs'``: scipy's L-BFGS-B runs on the client
  (`sknnfs._lbfgs.run_lbfgs`). Each evaluation sends the parameters with
  its graph (the scheduler hands them to the workers) and sums the
  partitions' `FullBatchObjective` losses and gradients, weighted by rows:
  the full-batch loss and gradient of a single-machine fit, up to the order
  of the sums, in one round trip (as Spark MLlib's
  MultilayerPerceptronClassifier does).
- The stochastic optimizers: synchronous rounds of local training and model
  averaging (Zinkevich et al. 2010; McMahan et al. 2017). The partitions
  are divided into chains, one per thread of the cluster when the fit
  starts. In a round, every chain starts from the same weights and
  optimizer state and trains one epoch of each of its partitions in turn
  (`Trainer.run_epoch`, with the estimator's batch size, shuffling and
  dropout, and a generator drawn from the fit's seed, the round and the
  partition); then the chains' weights and optimizer states are averaged,
  weighted by rows. A round is one epoch of the history (``n_iter_``,
  ``loss_curve_``: the rows' mean of the partitions' epoch losses), and the
  stopping rule, early stopping, callbacks and ``verbose`` work per round as
  per epoch. With one chain a round is an epoch over the partitions in turn;
  with k, each chain takes about 1/k of an epoch's steps, so a fit needs
  more rounds than a single machine needs epochs.

Before training, one pass checks every partition on its worker as ``fit``
checks its data, and brings back what the client needs: the rows, the
classes (each partition's distinct labels), the sums that scale the
sample and class weights to mean one over all the data, and a regressor's
weighted moments of y, merged into the mean and scale of its targets
(`_Survey`, `sknnfs._target_scaling`). Each partition is then prepared on
its worker (checked, encoded, its targets scaled, weighted, and with early
stopping split into training and validation rows, by a generator of its
own). The prepared partitions are persisted on the workers when they
take at most `PERSIST_FRACTION` of the cluster's memory; otherwise each
round recomputes them from their graph, which costs a read of the data per
round but never needs all of it in memory at once.

Faults: Dask recomputes the partitions a lost worker held and runs its tasks
again on the others (its ``allowed-failures``), and re-runs a task that
raised up to `RETRIES` times; every task is a function of its inputs, so the
result is the same. An error that remains is raised, and `fit_context`
restores the estimator: never a half-trained model.

This module imports dask only inside its functions: ``import sknnfs`` never
imports it.
"""

import contextlib
import copy
import sys
import uuid
import warnings

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._categories import categorical_mask
from ._frames import text_columns_named
from ._lbfgs import FullBatchObjective, check_lbfgs_settings, run_lbfgs
from ._numeric_encoding import needs_dense_x
from ._target_scaling import TargetMoments
from ._training import (
    History,
    Trainer,
    resolve_early_stopping,
    split_validation,
)

__all__ = ["fit_on_cluster", "is_dask_collection"]

# The prepared partitions are persisted when they take at most this fraction
# of the workers' memory limits: distributed spills to disk from 60 %, and
# training needs room beside the data for its batches and results.
PERSIST_FRACTION = 0.5
# Times the scheduler runs again a task that raised (reading a file, say).
RETRIES = 2
# Partial sums added by one task of the reduction tree.
FAN_IN = 8
# The purpose of a partition's generator: the first item after the seed.
_SPLIT, _TRAIN = 0, 1
# The fitted attributes a worker's copy of the estimator needs to check and
# encode a partition as ``fit`` would.
_SHIPPED_ATTRIBUTES = (
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "_multilabel",
    "n_outputs_",
    "_y_is_1d",
    "target_mean_",
    "target_scale_",
)
NO_CLIENT = (
    "fit trains on a Dask cluster when X is a dask collection, but no "
    "distributed.Client is running. Start one (from distributed import "
    "Client; client = Client(...)) to train on the cluster, or pass "
    "X.compute() and y.compute() to train in this process."
)


def is_dask_collection(*objects):
    """Whether any of ``objects`` is a dask collection (without importing dask)."""
    if "dask" not in sys.modules:
        return False  # nothing made by dask can exist
    import dask

    return any(dask.is_dask_collection(values) for values in objects)


def fit_on_cluster(estimator, X, y, sample_weight):
    """``estimator.fit(X, y, sample_weight)`` on the current Dask cluster.

    Parameters
    ----------
    estimator : BaseNNFS
    X : dask array of shape (n_samples, n_features) or dask DataFrame
    y : dask array of shape (n_samples,) or (n_samples, n_outputs), or dask
        Series or DataFrame, partitioned as ``X`` along the rows.
    sample_weight : dask array of shape (n_samples,) or dask Series, or None

    Returns
    -------
    estimator : BaseNNFS
        Fitted, as by ``fit`` on the computed arrays.
    """
    _check_no_numeric_bins(estimator)
    _check_no_categories(estimator, X)
    client = _current_client()
    partitions = _row_partitions(X, y, sample_weight)
    if estimator.optimizer == "lbfgs":
        check_lbfgs_settings(estimator)
    trainer, history, data = _start(estimator, client, _meta(X), partitions)
    callback_data = (X, y, sample_weight)
    if estimator.optimizer == "lbfgs":
        objective = _ClusterObjective(data)
        run_lbfgs(estimator, trainer, history, objective, callback_data)
    else:
        _train_rounds(estimator, trainer, history, data, callback_data)
    return estimator


def _check_no_numeric_bins(estimator):
    """The cluster trains on the features as they are (``'auto'`` resolves to
    that): ``numeric_bins``' quantiles would need every partition's values
    first."""
    continues_encoded = (
        estimator.warm_start and estimator.__dict__.get("bin_edges_") is not None
    )
    if needs_dense_x(estimator.numeric_bins) or continues_encoded:
        raise ValueError(
            "numeric_bins is not available on a Dask cluster: fit with "
            "numeric_bins=None there (and warm_start=False after a fit with "
            "numeric_bins), or compute X to fit on one machine."
        )


def _check_no_categories(estimator, X):
    """The cluster trains on numbers: the categories' one-hot columns would
    need every partition's categories first."""
    continues_encoded = (
        estimator.warm_start and estimator.__dict__.get("is_categorical_") is not None
    )
    if (
        continues_encoded
        or categorical_mask(estimator.categorical_features, X) is not None
    ):
        raise ValueError(
            "categorical_features is not available on a Dask cluster: encode "
            "the categories first (e.g. dask.dataframe.get_dummies) and fit "
            "with categorical_features=None there (and warm_start=False after "
            "a fit with categories), or compute X to fit on one machine."
        )


def _train_rounds(estimator, trainer, history, data, callback_data):
    """The stochastic optimizers on the cluster: the single-machine loop
    (`EpochLoop`), whose epochs are rounds and whose validation is scored
    on the workers."""
    estimator._run_loop(
        trainer,
        _ClusterRounds(data),
        history,
        _ClusterValidation(data) if data.validation_fraction is not None else None,
        max_epochs=estimator.max_iter,
        stopping=True,
        callback_data=callback_data,
        unit="round",
    )


def _current_client():
    """The current ``distributed.Client``; a ValueError saying what to do if none."""
    try:
        from distributed import get_client
    except ImportError as error:
        raise ValueError(
            f"{NO_CLIENT} (distributed is not installed: pip install 'sknnfs[dask]')"
        ) from error
    try:
        return get_client()
    except ValueError as error:  # "No global client found"
        raise ValueError(NO_CLIENT) from error


# ------------------------------------------------------------- partitions
def _row_partitions(X, y, sample_weight):
    """One ``(X, y, sample_weight)`` triple of dask Delayed per row partition.

    ``sample_weight`` is None in every triple when it is None.
    """
    import dask

    if y is None:
        raise ValueError("fit requires y to be passed, but the target y is None.")
    named = {"X": X, "y": y}
    if sample_weight is not None:
        named["sample_weight"] = sample_weight
    local = [
        name for name, values in named.items() if not dask.is_dask_collection(values)
    ]
    if local:
        types = ", ".join(type(named[name]).__name__ for name in local)
        raise ValueError(
            f"X is a dask collection, so {' and '.join(local)} must be one too, "
            "partitioned as X along the rows (e.g. dask.array.from_array(y, "
            f"chunks=X.chunks[0])); got {types}"
        )
    blocks = {name: _row_blocks(values, name) for name, values in named.items()}
    _check_same_partitions(named, blocks)
    n_partitions = len(blocks["X"])
    weights = blocks.get("sample_weight", [None] * n_partitions)
    return list(zip(blocks["X"], blocks["y"], weights, strict=True))


def _row_blocks(values, name):
    """The row partitions of a dask array, DataFrame or Series, as Delayed."""
    import dask.array as da

    if not isinstance(values, da.Array):
        if not hasattr(values, "npartitions"):
            raise ValueError(
                f"{name} must be a dask array, DataFrame or Series; got "
                f"{type(values).__name__}"
            )
        return list(values.to_delayed())
    if values.ndim == 1:
        return list(values.to_delayed())
    if values.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D; got {values.ndim} dimensions")
    if values.numblocks[1] > 1:  # a partition holds whole rows
        values = values.rechunk({1: -1})
    return list(values.to_delayed()[:, 0])


def _check_same_partitions(named, blocks):
    """A ValueError unless every collection has X's row partitions.

    Sizes that dask does not know (a DataFrame's) are checked on the workers.
    """
    counts = {name: len(parts) for name, parts in blocks.items()}
    if len(set(counts.values())) > 1:
        raise ValueError(
            "X, y and sample_weight must be partitioned the same way along the "
            f"rows; they have these numbers of partitions: {counts}"
        )
    sizes = {
        name: values.chunks[0]
        for name, values in named.items()
        if hasattr(values, "chunks") and not np.isnan(values.chunks[0]).any()
    }
    if len(set(sizes.values())) > 1:
        raise ValueError(
            "X, y and sample_weight must be partitioned the same way along the "
            f"rows; their partitions have these numbers of rows: {sizes}. "
            "Rechunk them alike, e.g. y = y.rechunk(X.chunks[0])."
        )


def _meta(X):
    """A zero-row stand-in for ``X``: its columns, their names and dtypes."""
    if hasattr(X, "columns"):  # a dask DataFrame's empty pandas frame
        return X._meta
    return np.empty((0, *X.shape[1:]), dtype=X.dtype)


@contextlib.contextmanager
def _in_partition(index):
    """Name the partition in the ValueErrors raised while checking it."""
    try:
        yield
    except ValueError as error:
        raise ValueError(f"Partition {index} of the data: {error}") from error


def _generator(seed, *key):
    """The generator of one partition's purpose (and round) in a fit."""
    return np.random.default_rng([seed, *key])


# ------------------------------------------------------------------ setup
def _start(estimator, client, meta, partitions):
    """Check and survey the data, set the target attributes, and prepare
    the partitions on the cluster; the trainer, history and `_ClusterData`."""
    hidden_sizes = estimator._hidden_sizes()
    reset, dtype = _check_columns(estimator, meta, hidden_sizes)
    survey = _Survey(client, _worker_copy(estimator), partitions, dtype)
    class_labels = estimator._training_targets(
        survey.targets,
        reset,
        len(hidden_sizes),
        dtype,
        classes=None,
        incremental=False,
        target_moments=survey.target_moments,
    )
    class_weight, weight_scales = survey.weighting(estimator, class_labels)
    if reset:
        trainer = estimator._new_trainer(
            [estimator.n_features_in_, *hidden_sizes], dtype
        )
        history = History()
    else:
        trainer = estimator._continued_trainer(incremental=False)
        history = History.of(estimator)
    stochastic = estimator.optimizer != "lbfgs"
    setup = _Setup(
        dtype,
        weight_scales,
        estimator.validation_fraction
        if stochastic and _holds_out_validation(estimator, survey, weight_scales)
        else None,
        # The split and the rounds draw from it: the published generator moves on.
        int(trainer.rng.integers(np.iinfo(np.int64).max)) if stochastic else 0,
    )
    worker_estimator = _worker_copy(estimator, class_weight)
    data = _ClusterData(
        client, worker_estimator, trainer.network, partitions, survey, setup
    )
    return trainer, history, data


def _holds_out_validation(estimator, survey, weight_scales):
    """Whether this stochastic fit holds out a validation split of each
    partition: ``early_stopping``, with ``'auto'`` True when every partition
    with rows can be split (`resolve_early_stopping`)."""

    def n_candidates(index, found):
        if weight_scales is not None and weight_scales[index] == 0:
            return 0  # `_partition_weights` gives all its rows weight zero
        return found.n_positive

    return all(
        resolve_early_stopping(
            estimator.early_stopping,
            found.n_rows,
            n_candidates(index, found),
            estimator.validation_fraction,
        )
        for index, found in survey.surveys.items()
    )


def _check_columns(estimator, meta, hidden_sizes):
    """Check X's columns as ``fit`` would, on its zero-row ``meta``, which sets
    ``n_features_in_`` (and ``feature_names_in_``); whether the fit starts a
    new network, and the training dtype."""
    reset = not hasattr(estimator, "_network") or not estimator.warm_start
    if not reset:
        estimator._check_same_network(hidden_sizes, False)
    dtype = estimator._fit_dtype(meta) if reset else estimator._network.dtype
    validate_data(
        estimator,
        meta,
        reset=reset,
        accept_sparse="csr",
        dtype=dtype,
        ensure_min_samples=0,
    )
    if reset:  # the features go in as they are: no bins, no categories
        estimator._set_bin_edges(None)
        estimator.is_categorical_ = estimator._category_encoder = None
    return reset, dtype


def _worker_copy(estimator, class_weight=None):
    """What a worker needs of the estimator: its parameters, and the fitted
    attributes that check and encode a partition.

    ``class_weight``, a dict of the weight of each class, replaces the
    parameter: ``'balanced'`` weights come from the class frequencies of all
    the partitions, which no single partition knows.
    """
    worker_estimator = clone(estimator)
    worker_estimator.__dict__.pop("_skl_callbacks", None)  # they stay on the client
    for name in _SHIPPED_ATTRIBUTES:
        if name in estimator.__dict__:
            setattr(worker_estimator, name, estimator.__dict__[name])
    if class_weight is not None:
        worker_estimator.class_weight = class_weight
    return worker_estimator


class _Setup:
    """What preparing a partition needs beyond the estimator.

    Parameters
    ----------
    dtype : numpy.dtype
        The training dtype.
    weight_scales : dict or None
        For each partition's index, the factor that turns its
        `_training_weights` (mean one over its rows) into the fit's (mean one
        over all rows); None when the fit has no weights.
    validation_fraction : float or None
        With early stopping, the fraction of each partition held out.
    seed : int
        The fit's seed, from which each partition's generators are drawn.
    """

    def __init__(self, dtype, weight_scales, validation_fraction, seed):
        self.dtype = dtype
        self.weight_scales = weight_scales
        self.validation_fraction = validation_fraction
        self.seed = seed


# ----------------------------------------------------------------- survey
class _PartitionSurvey:
    """What the client needs to know of one partition (`_survey_partition`).

    Attributes
    ----------
    n_rows : int
    nbytes : int
        Bytes of its checked X and y.
    targets : ndarray or None
        For a classifier its distinct labels (rows, for a multilabel y); for
        a regressor its first target. As y came: a column vector stays one.
    label_weights : ndarray or None
        A single-label classifier's weight of each label in ``targets``,
        relative to ``max_weight`` (its count without sample weights).
    max_weight : float
        Its largest sample weight (1 without sample weights).
    n_positive : int
        Its rows of positive sample weight (all of them without weights).
    weight_total : float
        Its sample weights' sum relative to ``max_weight`` (its rows without).
    target_moments : TargetMoments or None
        A regressor's that scales its targets: the moments of its y, with
        the weights relative to ``max_weight``.
    """

    def __init__(
        self,
        n_rows,
        nbytes=0,
        targets=None,
        label_weights=None,
        max_weight=1.0,
        weight_total=0.0,
        target_moments=None,
        n_positive=0,
    ):
        self.n_rows = n_rows
        self.nbytes = nbytes
        self.targets = targets
        self.label_weights = label_weights
        self.max_weight = max_weight
        self.weight_total = weight_total
        self.target_moments = target_moments
        self.n_positive = n_positive


def _survey_partition(X, y, sample_weight, checker, dtype, index):
    """Check one partition as ``fit`` checks its data (on its worker)."""
    with _in_partition(index), text_columns_named(checker, X, on_cluster=True):
        X, y = validate_data(
            checker,
            X,
            y,
            reset=False,
            accept_sparse="csr",
            dtype=dtype,
            multi_output=True,
            y_numeric=False,
            ensure_min_samples=0,
        )
        if X.shape[0] == 0:
            return _PartitionSurvey(0)
        targets = _checked_targets(checker, y)
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
    max_weight = 1.0 if weights is None else float(weights.max())
    relative = (
        weights / max_weight if weights is not None and max_weight > 0 else weights
    )
    moments = None
    if is_classifier(checker):
        labels, label_weights = _label_summary(targets, relative)
    else:
        labels, label_weights = targets[:1], None
        if checker.target_scaling is not None:
            moments = TargetMoments.of(targets.reshape(len(targets), -1), relative)
    if targets.ndim < y.ndim:  # a column vector: the client warns about it
        labels = labels.reshape(-1, 1)
    nbytes = (X.data.nbytes if hasattr(X, "data") else X.nbytes) + y.nbytes
    total = X.shape[0] if relative is None else float(relative.sum())
    n_positive = X.shape[0] if weights is None else int(np.count_nonzero(weights > 0))
    return _PartitionSurvey(
        X.shape[0],
        nbytes,
        labels,
        label_weights,
        max_weight,
        total,
        moments,
        n_positive,
    )


def _checked_targets(estimator, y):
    """``estimator._validate_targets(y)``, whose column-vector warning the
    client gives once, not each worker."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataConversionWarning)
        return estimator._validate_targets(y)


def _label_summary(y, relative_weights):
    """The distinct labels of ``y`` and, for a label vector, the weight of each."""
    if y.ndim == 2:  # multilabel: no class weights, the distinct rows suffice
        return np.unique(y, axis=0), None
    labels, inverse = np.unique(y, return_inverse=True)
    totals = np.bincount(inverse, weights=relative_weights, minlength=len(labels))
    return labels, totals


def _unique_rows(targets):
    """The distinct labels (or label rows) of all partitions, sorted."""
    merged = np.concatenate(targets)
    if merged.ndim == 2 and merged.shape[1] > 1:
        return np.unique(merged, axis=0)
    return np.unique(merged.ravel()).reshape(-1, *merged.shape[1:])


class _Survey:
    """Every partition checked on the cluster, and what follows for the fit.

    Parameters
    ----------
    client : distributed.Client
    checker : BaseNNFS
        The estimator's `_worker_copy`, with ``n_features_in_`` set.
    partitions : list of tuple (X, y, sample_weight) of Delayed
    dtype : numpy.dtype

    Attributes
    ----------
    surveys : dict
        The `_PartitionSurvey` of each partition that has rows, by index.
    n_rows : dict
        Their rows, by index.
    nbytes : int
        Bytes of the checked data.
    targets : ndarray
        Targets with the classes (or outputs) of the whole y: ``fit`` sets its
        target attributes from them.
    target_moments : TargetMoments or None
        For a regressor that scales its targets, the moments of the whole y,
        weighted by the sample weights: ``fit`` learns its scaling from them.
    """

    def __init__(self, client, checker, partitions, dtype):
        from dask import delayed

        survey = delayed(_survey_partition, pure=True)
        tasks = [
            survey(*parts, checker, dtype, i) for i, parts in enumerate(partitions)
        ]
        surveys = client.gather(client.compute(tasks))
        self.surveys = {i: found for i, found in enumerate(surveys) if found.n_rows}
        if not self.surveys:
            raise ValueError("X has no rows: every partition of the data is empty")
        self.n_rows = {i: found.n_rows for i, found in self.surveys.items()}
        self.nbytes = sum(found.nbytes for found in self.surveys.values())
        self.has_sample_weight = partitions[0][2] is not None
        self.classifier = is_classifier(checker)
        targets = [found.targets for found in self.surveys.values()]
        self.targets = _unique_rows(targets) if self.classifier else targets[0]
        self.largest_weight = max(found.max_weight for found in self.surveys.values())
        self.target_moments = self._merged_moments()

    def _merged_moments(self):
        """The partitions' target moments merged, in the partitions' order,
        with their weights relative to the largest weight; None if none."""
        merged = None
        for found in self.surveys.values():
            if found.target_moments is None:
                continue
            moments = found.target_moments.reweighted(self._relative(found))
            merged = moments if merged is None else merged + moments
        return merged

    def weighting(self, estimator, class_labels):
        """The class weights, as a dict or None, and each partition's weight
        scale (see `_Setup`), or None for a fit without weights.

        Parameters
        ----------
        estimator : BaseNNFS
            With its target attributes set from `targets`.
        class_labels : ndarray
            `targets` encoded: for a classifier, the classes in order.
        """
        class_factors = None
        if self.classifier:
            class_factors = estimator._sample_weight_factors(
                class_labels, self._class_totals(), incremental=False
            )
        if class_factors is None and not self.has_sample_weight:
            return None, None
        masses = {
            i: self._mass(found, class_factors) for i, found in self.surveys.items()
        }
        total_mass = sum(masses.values())
        if not total_mass > 0:
            name = "sample_weight" + (
                "" if class_factors is None else " (times class_weight)"
            )
            raise ValueError(
                f"{name} sums to zero: at least one sample needs a positive weight"
            )
        n_rows = sum(self.n_rows.values())
        scales = {
            i: mass / self.n_rows[i] * n_rows / total_mass for i, mass in masses.items()
        }
        if class_factors is None:
            return None, scales
        classes = estimator.classes_.tolist()
        return dict(zip(classes, class_factors.tolist(), strict=True)), scales

    def _relative(self, found):
        """The factor from ``found``'s relative weights to the largest weight's."""
        return found.max_weight / self.largest_weight if self.largest_weight else 0.0

    def _positions(self, found):
        """Where each of ``found``'s labels is among all the classes."""
        return np.searchsorted(self.targets.ravel(), found.targets.ravel())

    def _class_totals(self):
        """The weight of each class, relative to the largest sample weight;
        None for a multilabel y."""
        if any(found.label_weights is None for found in self.surveys.values()):
            return None
        totals = np.zeros(len(self.targets))
        for found in self.surveys.values():
            totals[self._positions(found)] += (
                self._relative(found) * found.label_weights
            )
        return totals

    def _mass(self, found, class_factors):
        """A partition's sum of sample (times class) weights, relative to the
        largest sample weight."""
        if class_factors is None:
            return self._relative(found) * found.weight_total
        weighted = class_factors[self._positions(found)] * found.label_weights
        return self._relative(found) * float(weighted.sum())


# ------------------------------------------------------ prepared partitions
def _prepare_partition(X, y, sample_weight, shipped, setup, index):
    """One partition checked, encoded and weighted as ``fit`` prepares its
    data, and with early stopping split; on its worker.

    Returns
    -------
    train : tuple (X, y_encoded, weights)
    validation : tuple (X, y_encoded, weights) or None
    """
    estimator = shipped[0]
    with _in_partition(index):
        X, y = validate_data(
            estimator,
            X,
            y,
            reset=False,
            accept_sparse="csr",
            dtype=setup.dtype,
            multi_output=True,
            y_numeric=False,
        )
        y_encoded = estimator._encode_targets(
            _checked_targets(estimator, y), classes=None, dtype=setup.dtype
        )
        weights = _partition_weights(
            estimator, sample_weight, X, y_encoded, setup, index
        )
        if setup.validation_fraction is None:
            return (X, y_encoded, weights), None
        return split_validation(
            X,
            y_encoded,
            weights,
            setup.validation_fraction,
            estimator._stratify_labels(y_encoded),
            _generator(setup.seed, _SPLIT, index),
        )


def _partition_weights(estimator, sample_weight, X, y_encoded, setup, index):
    """The partition's share of the fit's weights (mean one over all rows)."""
    from ._base import relative_sample_weight  # _base imports this module

    if setup.weight_scales is None:
        return None
    scale = setup.weight_scales[index]
    if scale == 0:  # it weighs nothing; `_training_weights` would refuse it
        return np.zeros(X.shape[0], dtype=X.dtype)
    weights = estimator._training_weights(
        relative_sample_weight(sample_weight, X), X, y_encoded, incremental=False
    )
    weights *= weights.dtype.type(scale)
    return weights


def _cluster_memory(client):
    """The sum of the workers' memory limits; infinite if one has none."""
    limits = [info.get("memory_limit") for info in _workers(client).values()]
    return sum(limits) if limits and all(limits) else np.inf


def _workers(client):
    return client.scheduler_info()["workers"]


def _thread_slots(client):
    """One worker address per thread of the cluster, in a fixed order."""
    return [
        address
        for address, info in sorted(_workers(client).items())
        for _ in range(info.get("nthreads", 1))
    ]


class _ClusterData:
    """The fit's partitions on the cluster, and what runs on them.

    The partitions are divided into chains, as many as the cluster has
    threads when the fit starts (at most one a partition), of consecutive
    partitions with about as many rows each: a stochastic round trains one
    model per chain, which passes from one partition of its chain to the
    next (`chain_sum`). Persisted partitions of a chain are kept on one
    worker, so that the model stays there.

    Parameters
    ----------
    client : distributed.Client
    estimator : BaseNNFS
        The `_worker_copy` the workers check and encode with.
    network : Network
        The network trained (its settings; each task loads the weights it is
        sent).
    partitions : list of tuple (X, y, sample_weight) of Delayed
    survey : _Survey
    setup : _Setup

    Attributes
    ----------
    persisted : bool
        Whether the prepared partitions are kept in the workers' memory
        (they take at most `PERSIST_FRACTION` of it), rather than
        recomputed from their graph for every round.
    chains : list of list of int
        Positions in ``partitions``, chain by chain.
    n_samples : int
        The rows of all partitions.
    """

    def __init__(self, client, estimator, network, partitions, survey, setup):
        from dask import delayed

        self.client = client
        self.seed = setup.seed
        self.validation_fraction = setup.validation_fraction
        # Sent once, with a graph: the scheduler hands them to the workers.
        self.shipped = client.persist(_literal((estimator, network), "shipped"))
        prepare = delayed(_prepare_partition, pure=True)
        self.indices = list(survey.n_rows)
        self.partitions = [
            prepare(*partitions[i], self.shipped, setup, i) for i in self.indices
        ]
        slots = _thread_slots(client)
        n_chains = max(1, min(len(slots), len(self.indices)))
        rows = np.cumsum([survey.n_rows[i] for i in self.indices])
        ends = np.searchsorted(rows, rows[-1] * np.arange(1, n_chains) / n_chains)
        self.chains = [
            chain.tolist()
            for chain in np.split(np.arange(len(self.indices)), ends + 1)
            if len(chain)
        ]
        self.persisted = survey.nbytes <= PERSIST_FRACTION * _cluster_memory(client)
        if self.persisted:
            self._persist(slots)
        self.n_samples = int(rows[-1])

    def _persist(self, slots):
        """Persist the prepared partitions, each chain's on one worker (or
        another, if that one is lost; anywhere while the cluster has none)."""
        for index, chain in enumerate(self.chains):
            workers = [slots[index]] if slots else None
            kept = self.client.persist(
                [self.partitions[position] for position in chain],
                workers=workers,
                allow_other_workers=True,
                retries=RETRIES,
            )
            for position, partition in zip(chain, kept, strict=True):
                self.partitions[position] = partition

    def map_sum(self, function, *args):
        """The sum of ``function(partition, shipped, index, *args)`` over the
        partitions, computed on the cluster; on the client.

        Results are numbers, arrays, objects that add, or tuples and lists
        of those, added item by item (`_added`).
        """
        from dask import delayed

        task = delayed(function, pure=False)
        return self._tree_sum(
            [
                task(partition, self.shipped, index, *args)
                for index, partition in zip(self.indices, self.partitions, strict=True)
            ]
        )

    def chain_sum(self, function, start, *args):
        """Run each chain, and sum the chains' results.

        Along a chain, ``carried = function(partitions, shipped, indices,
        carried, *args, last)`` from ``carried = start``, over the chain's
        links: the whole chain when it is persisted (one task), else one
        partition (one task each, which recomputes only its own);
        ``last`` is True at the chain's last link. The sum is that of the
        chains' last results.
        """
        from dask import delayed

        task = delayed(function, pure=False)
        results = []
        for chain in self.chains:
            links = [chain] if self.persisted else [[position] for position in chain]
            carried = start
            for link in links:
                carried = task(
                    [self.partitions[position] for position in link],
                    self.shipped,
                    [self.indices[position] for position in link],
                    carried,
                    *args,
                    link is links[-1],
                )
            results.append(carried)
        return self._tree_sum(results)

    def _tree_sum(self, results):
        """The sum of the Delayed ``results``: added in a tree on the workers
        down to `FAN_IN` partial sums, which the client adds. The tree's
        shape depends only on the results' order: the same inputs give the
        same sum to the bit, wherever the tasks ran."""
        from dask import delayed

        add = delayed(_sum, pure=False)
        while len(results) > FAN_IN:
            groups = range(0, len(results), FAN_IN)
            results = [add(*results[start : start + FAN_IN]) for start in groups]
        return _sum(*self.client.gather(self.client.compute(results, retries=RETRIES)))


def _literal(values, what):
    """``values`` as one key of a dask graph, sent with the graph.

    Rather than scattered: the scheduler gives it to live workers only, and
    can send it again if the worker that held it is lost.
    """
    from dask import delayed

    return delayed(values, name=f"sknnfs-{what}-{uuid.uuid4().hex}", traverse=False)


def _sum(*results):
    total = results[0]
    for result in results[1:]:
        total = _added(total, result)
    return total


def _added(first, second):
    """``first + second``, item by item through tuples and lists."""
    if isinstance(first, tuple | list):
        return type(first)(map(_added, first, second))
    return first + second


def _scaled(values, factor):
    """``values * factor``, item by item through tuples and lists."""
    if isinstance(values, tuple | list):
        return type(values)(_scaled(value, factor) for value in values)
    return values * factor


# ----------------------------------------------------------------- L-BFGS
def _partition_objective(partition, shipped, index, params):
    """The partition's rows, and its loss and gradient at ``params`` times them."""
    (X, y, weights), _ = partition
    objective = FullBatchObjective(shipped[1].copy(), X, y, weights)
    loss, gradient = objective(params)
    rows = X.shape[0]
    return rows, rows * loss, rows * gradient


class _ClusterObjective:
    """`FullBatchObjective` over all the partitions: their losses and
    gradients, weighted by rows, summed on the cluster.

    Each partition's loss is its rows' mean weighted loss plus the penalty;
    with the weights scaled to mean one over all rows, the rows' mean of
    these is the full-batch loss, and the same holds for the gradients.
    """

    def __init__(self, data):
        self.data = data
        self.n_samples = data.n_samples

    def __call__(self, params):
        rows, loss, gradient = self.data.map_sum(
            _partition_objective, _literal(params, "params")
        )
        return float(loss / rows), gradient / rows


# ----------------------------------------------------------------- rounds
class _Chain:
    """The model a chain carries from partition to partition in a round.

    Parameters
    ----------
    params : ndarray of shape (n_parameters,)
    optimizer : SGD, Adagrad, RMSprop or Adam
        With its state: its moments and step count.
    rows : int
        Training rows the chain has passed over in the round.
    loss_total : float
        The sum of their epoch losses, each times its rows.
    start_loss : float or None
        The loss of the chain's first batch.
    """

    def __init__(self, params, optimizer, rows=0, loss_total=0.0, start_loss=None):
        self.params, self.optimizer = params, optimizer
        self.rows, self.loss_total, self.start_loss = rows, loss_total, start_loss

    def contribution(self):
        """What the chain adds to the round's averages: its rows, and its
        loss, first batch's loss, step count, weights and optimizer state,
        each times its rows."""
        rows = self.rows
        averaged = (self.start_loss, self.optimizer.iterations, self.params)
        return (
            rows,
            (self.loss_total, *_scaled(averaged, rows)),
            _scaled(self.optimizer.state, rows),
        )


def _train_link(partitions, shipped, indices, carried, seed, round_index, last):
    """One epoch of each partition's training rows in turn, from the `_Chain`
    it is passed; the chain after them, or after the chain's ``last`` link
    its `_Chain.contribution`."""
    estimator, template = shipped
    for partition, index in zip(partitions, indices, strict=True):
        (X, y, weights), _ = partition
        network = template.copy()  # what a task is passed may be shared: not changed
        network.load_flat_params(carried.params)
        rng = _generator(seed, _TRAIN, round_index, index)
        trainer = Trainer(network, copy.deepcopy(carried.optimizer), rng)
        rows = X.shape[0]
        batch_size = estimator._batch_size(rows)
        loss = trainer.run_epoch(X, y, weights, batch_size, estimator.shuffle)
        carried = _Chain(
            network.flat_params,
            trainer.optimizer,
            carried.rows + rows,
            carried.loss_total + loss * rows,
            trainer.start_loss if carried.start_loss is None else carried.start_loss,
        )
    return carried.contribution() if last else carried


def _score_partition(partition, shipped, index, params):
    """The partition's validation score pieces at ``params``, and whether its
    outputs were not finite (1) or were (0)."""
    _, (X, y, weights) = partition
    estimator, template = shipped
    network = template.copy()
    network.load_flat_params(params)
    logits = network.forward(X)
    not_finite = int(not np.isfinite(network.loss.output_activation(logits)).all())
    estimator = copy.copy(estimator)
    estimator._network = network
    return not_finite, _validation_pieces(estimator, logits, y, weights)


def _validation_pieces(estimator, logits, y_encoded, weights):
    """What the validation score over all partitions needs from one."""
    if is_classifier(estimator):
        total = len(y_encoded) if weights is None else float(weights.sum())
        return _WeightedMean(
            estimator._validation_score(logits, y_encoded, weights), total
        )
    return _R2Sums(
        estimator._network.loss.output_activation(logits), y_encoded, weights
    )


class _WeightedMean:
    """A weighted mean that adds up: the classifier's validation score (the
    negated weighted mean log-loss) of several partitions."""

    def __init__(self, value, weight):
        self.total, self.weight = value * weight, weight

    def __add__(self, other):
        merged = copy.copy(self)
        merged.total, merged.weight = (
            self.total + other.total,
            self.weight + other.weight,
        )
        return merged

    def score(self):
        return self.total / self.weight


class _R2Sums:
    """R² (``sklearn.metrics.r2_score``, averaged over the outputs) of
    several partitions, from sums that add exactly.

    Each holds the `TargetMoments` of its targets (their weight, weighted
    means and weighted squares about them, which merge by Chan et al.'s
    pairwise update) and its weighted squared residuals.

    Parameters
    ----------
    predictions, y : ndarray of shape (n_samples, n_outputs)
    weights : ndarray of shape (n_samples,) or None
    """

    def __init__(self, predictions, y, weights):
        self.targets = TargetMoments.of(y, weights)
        y = y.astype(np.float64)
        weights = np.ones(len(y)) if weights is None else weights.astype(np.float64)
        self.residuals = weights @ (y - predictions) ** 2

    def __add__(self, other):
        merged = copy.copy(self)
        merged.targets = self.targets + other.targets
        merged.residuals = self.residuals + other.residuals
        return merged

    def score(self):
        """R², with r2_score's values where the targets are constant: 1 for a
        perfect prediction, else 0."""
        squares = self.targets.squares
        constant = squares == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = 1 - self.residuals / squares
        scores[constant] = np.where(self.residuals[constant] == 0, 1.0, 0.0)
        return float(scores.mean())


class _ClusterRounds:
    """The cluster's rounds as the training loop's epochs (`EpochLoop`).

    In a round every chain of partitions trains one epoch of each of its
    partitions from the same weights and optimizer state; the weights,
    state and step count are then averaged by rows into the client's
    trainer.

    Parameters
    ----------
    data : _ClusterData
    """

    def __init__(self, data):
        self.data, self.rounds = data, 0

    def train(self, trainer):
        """One round; the row-weighted mean of the partitions' epoch losses,
        and the rows trained on."""
        network, optimizer = trainer.network, trainer.optimizer
        start = _literal(_Chain(network.flat_params, optimizer), "start")
        rows, averaged, optimizer_state = self.data.chain_sum(
            _train_link, start, self.data.seed, self.rounds
        )
        self.rounds += 1
        loss, start_loss, iterations, params = _scaled(averaged, 1 / rows)
        network.load_flat_params(params)
        optimizer.load_state(
            {
                "iterations": round(iterations),
                "state": _scaled(optimizer_state, network.dtype.type(1 / rows)),
                "scheduled_learning_rate": optimizer.scheduled_learning_rate,
            }
        )
        if trainer.start_loss is None:  # before the call's first step
            trainer.start_loss = start_loss
        return loss, rows


class _ClusterValidation:
    """Every partition's held-out rows, scored on the workers (`EpochLoop`).

    Parameters
    ----------
    data : _ClusterData
    """

    def __init__(self, data):
        self.data = data

    def evaluate(self, network):
        """The network's score over every partition's validation rows, and
        a NaN stand-in for its outputs where a partition's are not finite
        (None where they all are: the workers have checked them)."""
        params = _literal(network.flat_params, "params")
        not_finite, pieces = self.data.map_sum(_score_partition, params)
        if not_finite:
            return None, np.full(1, np.nan)
        return pieces.score(), None
