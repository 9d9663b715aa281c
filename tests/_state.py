"""The whole state of a fitted estimator, bit for bit, to compare before/after;
and pickles of an edited state, as a damaged file or an older version gives."""

import copy
import pickle


def full_state(estimator):
    """Everything fitted, bit for bit: the pickle plus explicit fields.

    An unfitted estimator's state is its pickle and its attribute names. The
    pickle is that of a deep copy: copying turns objects that NumPy shares
    (its dtype singletons) into separate ones, which pickle differently, so
    both sides of a comparison are copied alike.
    """
    state = {
        "pickle": pickle.dumps(copy.deepcopy(estimator)),
        "attributes": sorted(vars(estimator)),
    }
    if not hasattr(estimator, "_network"):
        return state
    optimizer = estimator._optimizer
    return {
        **state,
        "flat_params": estimator._network.flat_params.tobytes(),
        # None after an 'lbfgs' fit, which minimises with scipy.
        "optimizer": None
        if optimizer is None
        else (
            type(optimizer).__name__,
            optimizer.learning_rate,
            optimizer.iterations,
            None
            if optimizer.state is None
            else [[a.tobytes() for a in arrays] for arrays in optimizer.state],
        ),
        "rng": estimator._training_rng.bit_generator.state,
        "n_iter_": estimator.n_iter_,
        "t_": estimator.t_,
        "loss_curve_": list(estimator.loss_curve_),
        "best_loss_": estimator.best_loss_,
        "validation_scores_": estimator.validation_scores_,
        "best_validation_score_": estimator.best_validation_score_,
    }


def pickle_with_edited_state(estimator, edit):
    """A pickle of ``estimator`` whose saved state ``edit`` has changed."""
    state = copy.deepcopy(estimator.__getstate__())
    edit(state)
    estimator_class = type(estimator)

    class Edited:
        """Pickles as the estimator would, with the edited state."""

        def __reduce__(self):
            return object.__new__, (estimator_class,), state

    return pickle.dumps(Edited())
