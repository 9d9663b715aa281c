"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9).

With a scikit-learn that has it, the estimators inherit `CallbackSupportMixin`
(``set_callbacks(ProgressBar(), ScoringMonitor(...))``) and every epoch of a
fit is one subtask of the fit task. With an older scikit-learn the mixin is an
empty class and `EpochCallbacks` does nothing, so the package works the same,
without callbacks.

The teardown of the callbacks needs no code here: scikit-learn's
``_fit_context``, which wraps ``fit`` and ``partial_fit``
(`sknnfs._base.fit_context`), runs it when the fit ends, whether it
succeeded or not; if the teardown raises, `fit_context` undoes the call.
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9: no ``set_callbacks``, no callbacks."""


__all__ = ["CallbackSupportMixin", "EpochCallbacks"]


class EpochCallbacks:
    """The callback context of one fit, with one subtask per epoch.

    Parameters
    ----------
    estimator : BaseNNFS
        The estimator being fitted.
    max_epochs : int
        Most epochs this fit can run (``max_iter``, or 1 for ``partial_fit``).
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The validated training data, given to the callbacks (e.g. for scoring).
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The training targets as the user passed them (labels, not encoded).
    sample_weight : array-like of shape (n_samples,) or None
        The user's sample weights, passed to the callbacks as metadata.
    """

    def __init__(self, estimator, max_epochs, X, y, sample_weight):
        self.estimator = estimator
        self.fit_data = dict(
            X=X,
            y=y,
            metadata=None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        )
        self.fit_context = None
        self.epoch_context = None
        if hasattr(estimator, "_init_callback_context"):
            self.fit_context = estimator._init_callback_context(max_subtasks=max_epochs)
            self.fit_context.call_on_fit_task_begin(
                estimator=estimator, **self.fit_data
            )

    def begin_epoch(self):
        if self.fit_context is None:
            return
        self.epoch_context = self.fit_context.subcontext(task_name="epoch")
        self.epoch_context.call_on_fit_task_begin(
            estimator=self.estimator, **self.fit_data
        )

    def end_epoch(self):
        """End the current epoch's task; True when a callback asks to stop."""
        if self.epoch_context is None:
            return False
        context, self.epoch_context = self.epoch_context, None
        # The estimator is already usable after each epoch (the network and the
        # fitted attributes are published), so nothing needs reconstructing.
        return context.call_on_fit_task_end(
            estimator=self.estimator, **self.fit_data, reconstruction_attributes={}
        )

    def end(self):
        if self.fit_context is None:
            return
        if self.epoch_context is not None:
            # An epoch that did not complete (interrupted): end it as an empty task
            # so that every begin has its end.
            self.epoch_context.call_on_fit_task_end(estimator=self.estimator)
            self.epoch_context = None
        self.fit_context.call_on_fit_task_end(
            estimator=self.estimator, **self.fit_data, reconstruction_attributes={}
        )
