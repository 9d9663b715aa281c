"""The training loop: the epochs of one run, wherever its batches come from.

`EpochLoop` takes a `Trainer` (network, optimizer, generator), a source of
epochs (`InMemoryEpochs` on one machine; a cluster's rounds would be
another), the record to continue (`History`), an optional `Validation` set,
the stopping rule's settings and the callbacks, and runs::

    for each epoch, up to max_epochs:
        callbacks.begin_epoch()
        loss = epochs.train(trainer)          # one pass of training
        raise_if_diverged(loss, ...)          # then the validation score
        optimizer.end_epoch(samples seen, share of max_epochs done)
        stop = plateau.should_stop(...)       # MLPClassifier's rule
        publish(history); remember it         # what Ctrl-C goes back to
        epoch_end(history); callbacks.end_epoch()

It knows nothing of estimators: ``publish`` and ``epoch_end`` are the
caller's (the estimators write their fitted attributes and run their epoch
hook there). Ctrl-C after a completed epoch puts the trainer and the record
back as after it (with early stopping, with the best weights so far),
publishes that, and ends the run with a warning; before the first one, the
KeyboardInterrupt goes on.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._training import Plateau, raise_if_diverged

__all__ = ["EpochLoop", "InMemoryEpochs", "Validation"]


class InMemoryEpochs:
    """Epochs of minibatches over data held in memory (`Trainer.run_epoch`).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Encoded targets.
    sample_weight : ndarray of shape (n_samples,) or None
    batch_size : int
    shuffle : bool
    """

    def __init__(self, X, y, sample_weight, batch_size, shuffle):
        self.data = (X, y, sample_weight)
        self.batch_size, self.shuffle = batch_size, shuffle

    def train(self, trainer):
        """One epoch; its mean batch loss and the rows it trained on."""
        loss = trainer.run_epoch(*self.data, self.batch_size, self.shuffle)
        return loss, self.data[0].shape[0]


class Validation:
    """Held-out data, and how to score a network's outputs for it.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_validation, n_features)
    y : ndarray of shape (n_validation,) or (n_validation, n_outputs)
        Encoded targets.
    sample_weight : ndarray of shape (n_validation,) or None
    score : callable (logits, y, sample_weight) -> float
        Greater is better.
    """

    def __init__(self, X, y, sample_weight, score):
        self.X, self.targets = X, (y, sample_weight)
        self.score_outputs = score

    def evaluate(self, network):
        """The network's score on the validation data, and its predictions
        there (probabilities, or the regressor's means) for the divergence
        check; the score is None where they are not finite."""
        logits = network.forward(self.X)
        predictions = network.loss.output_activation(logits)
        if not np.isfinite(predictions).all():
            return None, predictions
        return self.score_outputs(logits, *self.targets), predictions


class EpochLoop:
    """The epochs of one training run (see the module's docstring).

    Parameters
    ----------
    trainer : Trainer
    epochs : InMemoryEpochs
        Anything with ``train(trainer) -> (mean loss, rows trained on)``.
    history : History
        The record to continue (a warm start continues the previous one).
    validation : Validation or None
        With early stopping, the held-out data the score is measured on:
        anything with ``evaluate(network) -> (score or None, outputs)``.
    tol, n_iter_no_change :
        MLPClassifier's stopping rule (`Plateau`).
    stopping : bool
        Whether the rule may end the run, and a run that ends without it
        warns (not for partial_fit, whose run is one epoch).
    callbacks : EpochCallbacks
    publish : callable (history, early_stopping)
        Writes the record of the last completed epoch where it belongs.
    epoch_end : callable (history)
        Called after each completed epoch has been published.
    verbose : bool
    learning_rate : float
        For the divergence message.
    unit : str, default='epoch'
        What an epoch is called in the warnings (a cluster's ``'round'``).

    Attributes
    ----------
    plateau : Plateau
        The stopping rule, from the score where the run starts.
    best_params : ndarray of shape (n_parameters,) or None
        With early stopping, the best weights so far.
    completed : tuple or None
        The last completed epoch (None before the first one): the trainer's
        state, the record and the best weights after it.
    """

    def __init__(
        self,
        trainer,
        epochs,
        history,
        *,
        validation,
        tol,
        n_iter_no_change,
        stopping,
        callbacks,
        publish,
        epoch_end,
        verbose,
        learning_rate,
        unit="epoch",
    ):
        self.trainer, self.epochs, self.history = trainer, epochs, history
        self.validation = validation
        self.tol, self.n_iter_no_change, self.stopping = tol, n_iter_no_change, stopping
        self.callbacks = callbacks
        self.publish, self.epoch_end = publish, epoch_end
        self.verbose, self.learning_rate, self.unit = verbose, learning_rate, unit
        # The first epoch's loss of the model's earlier runs (0 if none).
        self.previous_first_loss = history.loss_curve[0] if history.loss_curve else 0.0
        self.plateau, self.best_params = self._starting_point()
        self.completed = None

    def _starting_point(self):
        """The stopping rule and the best weights where the run starts."""
        tol, validation, history = self.tol, self.validation, self.history
        count = history.epochs_without_improvement
        if validation is None or not history.loss_curve:
            best_score = history.best_score(validation is not None)
            return Plateau(tol, best_score, count), None
        # A warm start draws a new validation split, on which the previous
        # best score was never measured: the weights it starts from are the
        # first candidate, scored on the new split like every epoch after.
        score, _ = validation.evaluate(self.trainer.network)
        if score is None:  # not finite: no candidate
            return Plateau(tol, epochs_without_improvement=count), None
        return Plateau(tol, score, count), self.trainer.network.flat_params_copy()

    def run(self, max_epochs):
        """Up to ``max_epochs`` epochs; Ctrl-C after one keeps the last one."""
        self.max_epochs = max_epochs
        stopped = False
        try:
            for _ in range(max_epochs):
                self.callbacks.begin_epoch()
                stopped = self._epoch()
                if stopped:
                    break
        except KeyboardInterrupt:
            if self.completed is None:
                raise  # nothing of this run to keep: the caller restores the rest
            self._restore_completed()
            self._finish(interrupted=True)
            return
        self._keep_best()
        self._finish(ran_out=self.stopping and not stopped)

    def _epoch(self):
        """Train, check, score and publish one epoch, then the verbose line,
        the epoch's end and the callbacks'; whether training stops (a
        callback asks to, or the stopping rule where it may)."""
        epoch_start = time.perf_counter()
        improved = self._train_and_score()
        optimizer, history = self.trainer.optimizer, self.history
        # The schedule's clocks: the samples seen, the share of max_epochs done.
        progress = history.n_iter / self.max_epochs
        optimizer.end_epoch(history.n_samples_seen, progress)
        # As in MLP, the rule runs after every epoch, partial_fit's too:
        # 'adaptive' lowers the rate there, although partial_fit never stops.
        stop = self.plateau.should_stop(self.n_iter_no_change, optimizer)
        history.epochs_without_improvement = self.plateau.epochs_without_improvement
        self.publish(history, self.validation is not None)
        self._complete(improved)
        if self.verbose:
            print(history.describe_last_epoch(time.perf_counter() - epoch_start))
        self.epoch_end(history)
        if self.callbacks.end_epoch():
            return True
        return self.stopping and stop

    def _train_and_score(self):
        """One epoch trained, checked and recorded; True when it is the best
        validated one. A validation scores only finite outputs: outputs that
        are not finite are a divergence, raised before any score."""
        trainer, history, validation = self.trainer, self.history, self.validation
        loss, n_samples = self.epochs.train(trainer)
        reference = max(self.previous_first_loss, trainer.start_loss)
        check = (loss, trainer.network, history.n_iter + 1, self.learning_rate)
        raise_if_diverged(*check, reference)
        if validation is None:  # the score is the negated training loss
            self.plateau.update(-loss)
            history.record(loss, n_samples, None, self.plateau.best_score)
            return False
        score, outputs = validation.evaluate(trainer.network)
        raise_if_diverged(*check, reference, outputs=outputs)
        improved = self.plateau.update(score)
        history.record(loss, n_samples, score, self.plateau.best_score)
        return improved

    def _complete(self, improved):
        """Remember the epoch just published as the last completed one."""
        saved = self.trainer.save()
        best_params = saved[0] if improved else self.best_params
        # One assignment: an interrupt finds the previous epoch or this one.
        self.completed = (saved, self.history.copy(), best_params)
        self.best_params = best_params

    def _restore_completed(self):
        """Put back the trainer and the record as after the last completed
        epoch, and publish them."""
        saved, self.history, self.best_params = self.completed
        self.trainer.restore(saved)
        self.publish(self.history, self.validation is not None)
        self._keep_best()

    def _keep_best(self):
        """With early stopping, load the best weights into the network."""
        if self.best_params is not None:
            self.trainer.network.load_flat_params(self.best_params)

    def _finish(self, *, interrupted=False, ran_out=False):
        """End the run, with a warning after Ctrl-C (``interrupted``) or if
        the epochs ran out before the stopping rule ended training."""
        self.callbacks.end()
        if interrupted:
            best = self.best_params is not None
            unit = self.unit
            which = f"best {unit} so far" if best else f"last completed {unit}"
            warnings.warn(
                f"Training interrupted after {self.history.n_iter} {unit}s; the "
                f"estimator keeps the weights of the {which}.",
                UserWarning,
                stacklevel=5,
            )
        elif ran_out:
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_epochs}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )
