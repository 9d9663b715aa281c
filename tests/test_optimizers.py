"""One and two optimizer steps against the book's update rules, written out by hand.

Nesterov's momentum and the learning-rate schedules are `MLPClassifier`'s:
they are checked against its update and schedule rules written out by hand,
and against scikit-learn's own `SGDOptimizer` as a reference implementation.
"""

import copy
import pickle

import numpy as np
import pytest
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

import sknnfs._parallel as parallel_module
from sknnfs import SGD, Adagrad, Adam, RMSprop
from sknnfs._parallel import BlockwiseUpdate, run_on_threads

LEARNING_RATE, DECAY = 0.5, 0.1


def initial_params():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((2, 3)), rng.standard_normal((1, 3))]


def gradient_sequence():
    """Two different gradients per parameter array, for two steps."""
    rng = np.random.default_rng(1)
    return [
        [rng.standard_normal((2, 3)), rng.standard_normal((1, 3))] for _ in range(2)
    ]


def run_steps(optimizer, n_steps):
    params = initial_params()
    for grads in gradient_sequence()[:n_steps]:
        # step() may use the gradients as scratch space: hand it copies.
        optimizer.step(params, [grad.copy() for grad in grads])
    return params


def decayed(learning_rate, decay, step_index):
    """The book's ``lr / (1 + decay * iterations)``, iterations counted from 0."""
    return learning_rate / (1.0 + decay * step_index)


def assert_params_equal(actual, expected):
    for actual_array, expected_array in zip(actual, expected, strict=True):
        np.testing.assert_allclose(actual_array, expected_array, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------- hand formulas
def book_sgd(n_steps, learning_rate, decay, momentum):
    params = initial_params()
    momentums = [np.zeros_like(p) for p in params]
    for step_index, grads in enumerate(gradient_sequence()[:n_steps]):
        current_lr = decayed(learning_rate, decay, step_index)
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            if momentum:
                updates = momentum * momentums[i] - current_lr * grad
                momentums[i] = updates
            else:
                updates = -current_lr * grad
            params[i] = param + updates
    return params


def book_adagrad(n_steps, learning_rate, decay, epsilon):
    params = initial_params()
    caches = [np.zeros_like(p) for p in params]
    for step_index, grads in enumerate(gradient_sequence()[:n_steps]):
        current_lr = decayed(learning_rate, decay, step_index)
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            caches[i] = caches[i] + grad**2
            params[i] = param - current_lr * grad / (np.sqrt(caches[i]) + epsilon)
    return params


def book_rmsprop(n_steps, learning_rate, decay, epsilon, rho):
    params = initial_params()
    caches = [np.zeros_like(p) for p in params]
    for step_index, grads in enumerate(gradient_sequence()[:n_steps]):
        current_lr = decayed(learning_rate, decay, step_index)
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            caches[i] = rho * caches[i] + (1 - rho) * grad**2
            params[i] = param - current_lr * grad / (np.sqrt(caches[i]) + epsilon)
    return params


def book_adam(n_steps, learning_rate, decay, epsilon, beta_1, beta_2):
    params = initial_params()
    momentums = [np.zeros_like(p) for p in params]
    caches = [np.zeros_like(p) for p in params]
    for step_index, grads in enumerate(gradient_sequence()[:n_steps]):
        current_lr = decayed(learning_rate, decay, step_index)
        t = step_index + 1  # the book's "self.iterations + 1"
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            momentums[i] = beta_1 * momentums[i] + (1 - beta_1) * grad
            caches[i] = beta_2 * caches[i] + (1 - beta_2) * grad**2
            momentum_corrected = momentums[i] / (1 - beta_1**t)
            cache_corrected = caches[i] / (1 - beta_2**t)
            params[i] = param - current_lr * momentum_corrected / (
                np.sqrt(cache_corrected) + epsilon
            )
    return params


def mlp_sgd(n_steps, learning_rate, decay, momentum, nesterov):
    """`MLPClassifier`'s SGD step (``SGDOptimizer._get_updates``), with decay."""
    params = initial_params()
    velocities = [np.zeros_like(p) for p in params]
    for step_index, grads in enumerate(gradient_sequence()[:n_steps]):
        current_lr = decayed(learning_rate, decay, step_index)
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            velocities[i] = momentum * velocities[i] - current_lr * grad
            update = velocities[i]
            if nesterov:  # the step looks ahead along the new velocity
                update = momentum * velocities[i] - current_lr * grad
            params[i] = param + update
    return params


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("n_steps", [1, 2])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("decay", [0.0, DECAY])
def test_sgd(n_steps, momentum, decay):
    optimizer = SGD(learning_rate=LEARNING_RATE, decay=decay, momentum=momentum)
    assert_params_equal(
        run_steps(optimizer, n_steps), book_sgd(n_steps, LEARNING_RATE, decay, momentum)
    )


@pytest.mark.parametrize("n_steps", [1, 2])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("decay", [0.0, DECAY])
def test_sgd_nesterov(n_steps, momentum, decay):
    optimizer = SGD(
        learning_rate=LEARNING_RATE, decay=decay, momentum=momentum, nesterov=True
    )
    assert_params_equal(
        run_steps(optimizer, n_steps),
        mlp_sgd(n_steps, LEARNING_RATE, decay, momentum, nesterov=True),
    )


def test_nesterov_differs_from_plain_momentum_from_the_first_step():
    plain = mlp_sgd(1, LEARNING_RATE, 0.0, 0.9, nesterov=False)
    nesterov = run_steps(SGD(LEARNING_RATE, momentum=0.9, nesterov=True), 1)
    # Step one: v = -lr g, so Nesterov's step is (1 + momentum) times as long.
    for plain_array, nesterov_array, start in zip(
        plain, nesterov, initial_params(), strict=True
    ):
        np.testing.assert_allclose(
            nesterov_array - start, 1.9 * (plain_array - start), rtol=1e-12
        )


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_steps_match_scikit_learns_sgd_optimizer(nesterov):
    ours = run_steps(SGD(LEARNING_RATE, momentum=0.8, nesterov=nesterov), 2)
    params = initial_params()
    reference = SGDOptimizer(
        params, LEARNING_RATE, "constant", momentum=0.8, nesterov=nesterov
    )
    for grads in gradient_sequence():
        reference.update_params(params, grads)
    assert_params_equal(ours, params)


@pytest.mark.parametrize("n_steps", [1, 2])
@pytest.mark.parametrize("decay", [0.0, DECAY])
def test_adagrad(n_steps, decay):
    optimizer = Adagrad(learning_rate=LEARNING_RATE, decay=decay, epsilon=1e-3)
    assert_params_equal(
        run_steps(optimizer, n_steps),
        book_adagrad(n_steps, LEARNING_RATE, decay, epsilon=1e-3),
    )


@pytest.mark.parametrize("n_steps", [1, 2])
@pytest.mark.parametrize("decay", [0.0, DECAY])
def test_rmsprop(n_steps, decay):
    optimizer = RMSprop(learning_rate=LEARNING_RATE, decay=decay, epsilon=1e-3, rho=0.8)
    assert_params_equal(
        run_steps(optimizer, n_steps),
        book_rmsprop(n_steps, LEARNING_RATE, decay, epsilon=1e-3, rho=0.8),
    )


@pytest.mark.parametrize("n_steps", [1, 2])
@pytest.mark.parametrize("decay", [0.0, DECAY])
def test_adam(n_steps, decay):
    optimizer = Adam(
        learning_rate=LEARNING_RATE, decay=decay, epsilon=1e-3, beta_1=0.8, beta_2=0.9
    )
    assert_params_equal(
        run_steps(optimizer, n_steps),
        book_adam(n_steps, LEARNING_RATE, decay, epsilon=1e-3, beta_1=0.8, beta_2=0.9),
    )


@pytest.mark.parametrize(
    "optimizer, book_update",
    [
        (SGD(), lambda n: book_sgd(n, 1.0, 0.0, 0.0)),
        (Adagrad(), lambda n: book_adagrad(n, 1.0, 0.0, 1e-7)),
        (RMSprop(), lambda n: book_rmsprop(n, 0.001, 0.0, 1e-7, 0.9)),
        (Adam(), lambda n: book_adam(n, 0.001, 0.0, 1e-7, 0.9, 0.999)),
    ],
    ids=["sgd", "adagrad", "rmsprop", "adam"],
)
def test_defaults_follow_the_book(optimizer, book_update):
    assert_params_equal(run_steps(optimizer, 2), book_update(2))


def test_default_hyperparameters():
    assert (SGD().learning_rate, SGD().decay, SGD().momentum) == (1.0, 0.0, 0.0)
    assert (Adagrad().learning_rate, Adagrad().epsilon) == (1.0, 1e-7)
    rmsprop = RMSprop()
    assert (rmsprop.learning_rate, rmsprop.rho, rmsprop.epsilon) == (0.001, 0.9, 1e-7)
    adam = Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (
        0.001,
        0.9,
        0.999,
        1e-7,
    )


def test_current_learning_rate_decays_per_step():
    optimizer = SGD(learning_rate=2.0, decay=0.5)
    params, grads = [np.zeros(2)], [np.ones(2)]
    seen = []
    for _ in range(3):
        seen.append(optimizer.current_learning_rate)
        optimizer.step(params, [grad.copy() for grad in grads])
    assert seen == [2.0, 2.0 / 1.5, 2.0 / 2.0]
    # Plain SGD moved the parameters by the sum of the decayed rates.
    np.testing.assert_allclose(params[0], -sum(seen), rtol=1e-15)


# ---------------------------------------------------------------- schedules
ALL_OPTIMIZERS = [SGD, Adagrad, RMSprop, Adam]


def steps_with_unit_gradient(optimizer, n_steps):
    params = [np.zeros(2)]
    for _ in range(n_steps):
        optimizer.step(params, [np.ones(2)])
    return params[0]


@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS)
def test_constant_schedule_keeps_the_learning_rate(optimizer_class):
    optimizer = optimizer_class(learning_rate=0.3)
    assert optimizer.learning_rate_schedule == "constant"
    for n_samples_seen in (10, 20):
        steps_with_unit_gradient(optimizer, 3)
        optimizer.end_epoch(n_samples_seen)
        assert not optimizer.reduce_learning_rate_on_plateau()
    assert optimizer.current_learning_rate == 0.3


@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS)
def test_invscaling_sets_mlps_rate_at_the_end_of_each_epoch(optimizer_class):
    optimizer = optimizer_class(
        learning_rate=0.5, learning_rate_schedule="invscaling", power_t=0.25
    )
    # As MLPClassifier: the first epoch runs at the initial rate; after each
    # epoch the rate is learning_rate / (t_ + 1) ** power_t, t_ the samples
    # seen so far; a plateau never changes it.
    assert optimizer.current_learning_rate == 0.5
    for n_samples_seen in (10, 20, 35):
        steps_with_unit_gradient(optimizer, 2)
        optimizer.end_epoch(n_samples_seen)
        assert not optimizer.reduce_learning_rate_on_plateau()
        assert optimizer.current_learning_rate == pytest.approx(
            0.5 / (n_samples_seen + 1) ** 0.25, rel=1e-15
        )


def test_invscaling_matches_scikit_learns_sgd_optimizer():
    ours = SGD(learning_rate=0.5, learning_rate_schedule="invscaling", power_t=0.3)
    reference = SGDOptimizer([np.zeros(1)], 0.5, "invscaling", power_t=0.3)
    for n_samples_seen in (7, 14, 1000):
        ours.end_epoch(n_samples_seen)
        reference.iteration_ends(n_samples_seen)
        assert ours.current_learning_rate == pytest.approx(
            reference.learning_rate, rel=1e-15
        )


def test_plain_sgd_steps_follow_the_invscaling_rate():
    optimizer = SGD(learning_rate=0.5, learning_rate_schedule="invscaling", power_t=0.5)
    params = [np.zeros(2)]
    optimizer.step(params, [np.ones(2)])
    optimizer.end_epoch(3)
    optimizer.step(params, [np.ones(2)])
    np.testing.assert_allclose(params[0], -(0.5 + 0.5 / 4**0.5), rtol=1e-15)


@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS)
def test_adaptive_divides_by_5_at_each_plateau_until_the_rate_is_at_most_1e_6(
    optimizer_class,
):
    optimizer = optimizer_class(learning_rate=1e-4, learning_rate_schedule="adaptive")
    optimizer.end_epoch(1000)  # epochs alone change nothing
    rates = [optimizer.current_learning_rate]
    while optimizer.reduce_learning_rate_on_plateau():
        rates.append(optimizer.current_learning_rate)
    # 8e-7 <= 1e-6: the next plateau stops training instead.
    assert rates == pytest.approx([1e-4, 2e-5, 4e-6, 8e-7], rel=1e-14)
    assert not optimizer.reduce_learning_rate_on_plateau()
    assert optimizer.current_learning_rate == pytest.approx(8e-7, rel=1e-14)


@pytest.mark.parametrize("learning_rate", [1e-4, 1e-6, 1.000001e-6, 3e-3])
def test_adaptive_matches_scikit_learns_trigger_stopping(learning_rate):
    ours = SGD(learning_rate=learning_rate, learning_rate_schedule="adaptive")
    reference = SGDOptimizer([np.zeros(1)], learning_rate, "adaptive")
    while True:
        goes_on = ours.reduce_learning_rate_on_plateau()
        assert goes_on == (not reference.trigger_stopping("", verbose=False))
        assert ours.current_learning_rate == reference.learning_rate
        if not goes_on:
            break


def test_decay_multiplies_into_the_schedule():
    invscaling = SGD(
        learning_rate=0.5, decay=0.1, learning_rate_schedule="invscaling", power_t=0.5
    )
    steps_with_unit_gradient(invscaling, 3)
    invscaling.end_epoch(8)
    assert invscaling.current_learning_rate == pytest.approx(
        0.5 / 9**0.5 / (1 + 0.1 * 3), rel=1e-15
    )
    adaptive = SGD(learning_rate=0.5, decay=0.1, learning_rate_schedule="adaptive")
    steps_with_unit_gradient(adaptive, 4)
    assert adaptive.reduce_learning_rate_on_plateau()
    assert adaptive.current_learning_rate == pytest.approx(
        0.5 / 5 / (1 + 0.1 * 4), rel=1e-15
    )


def test_adaptive_stops_on_the_decayed_rate():
    # 2e-6 / (1 + 1.5 * 1) = 8e-7: the rate the next step would use is <= 1e-6.
    optimizer = SGD(learning_rate=2e-6, decay=1.5, learning_rate_schedule="adaptive")
    steps_with_unit_gradient(optimizer, 1)
    assert not optimizer.reduce_learning_rate_on_plateau()


def test_an_unknown_schedule_is_a_clear_error():
    with pytest.raises(ValueError, match="learning_rate_schedule must be one of"):
        Adam(learning_rate_schedule="exponential")


def test_optimizers_pickled_before_schedules_load_with_the_constant_one():
    optimizer = SGD(0.1, momentum=0.9)
    steps_with_unit_gradient(optimizer, 2)
    state = copy.deepcopy(optimizer.__dict__)
    for name in ("learning_rate_schedule", "power_t", "scheduled_learning_rate"):
        del state[name]
    del state["nesterov"]
    restored = SGD.__new__(SGD)
    restored.__setstate__(state)
    assert (restored.learning_rate_schedule, restored.nesterov) == ("constant", False)
    assert restored.current_learning_rate == 0.1
    np.testing.assert_array_equal(
        steps_with_unit_gradient(restored, 1), steps_with_unit_gradient(optimizer, 1)
    )


def test_state_lives_in_the_optimizer_not_on_the_params():
    params = initial_params()
    optimizer = Adam()
    optimizer.step(params, [np.ones_like(p) for p in params])
    assert optimizer.iterations == 1
    assert len(optimizer.state) == len(params)
    np.testing.assert_allclose(optimizer.first_moments[0], 0.1)  # (1 - beta_1) * 1
    np.testing.assert_allclose(optimizer.second_moments[0], 0.001)  # (1 - b2) * 1**2


def test_adam_moments_are_the_books_after_two_steps():
    params = initial_params()
    grads = (
        [np.full_like(p, 2.0) for p in params],
        [np.full_like(p, -1.0) for p in params],
    )
    optimizer = Adam(beta_1=0.8, beta_2=0.9)
    for step_grads in grads:
        optimizer.step(params, step_grads)
    # m = 0.8 * (0.2 * 2) + 0.2 * (-1); v = 0.9 * (0.1 * 4) + 0.1 * 1
    np.testing.assert_allclose(optimizer.first_moments[0], 0.12, rtol=1e-14)
    np.testing.assert_allclose(optimizer.second_moments[0], 0.46, rtol=1e-14)


# --------------------------------------------- large arrays: blocks, threads
def test_adam_keeps_the_books_moments_when_its_betas_change():
    optimizer = Adam(learning_rate=LEARNING_RATE, beta_1=0.9, beta_2=0.999)
    params = run_steps(optimizer, 1)
    first, second = optimizer.first_moments, optimizer.second_moments
    optimizer.set_hyperparameters(beta_1=0.5, beta_2=0.8, learning_rate=0.1)
    for ours, book in zip(optimizer.first_moments, first, strict=True):
        np.testing.assert_allclose(ours, book, rtol=1e-14)
    for ours, book in zip(optimizer.second_moments, second, strict=True):
        np.testing.assert_allclose(ours, book, rtol=1e-14)
    # The next step is the book's step 2 from those moments, with the new
    # betas and learning rate.
    grads = gradient_sequence()[1]
    expected = []
    for param, grad, m, v in zip(params, grads, first, second, strict=True):
        m = 0.5 * m + 0.5 * grad
        v = 0.8 * v + 0.2 * grad**2
        m_hat, v_hat = m / (1 - 0.5**2), v / (1 - 0.8**2)
        expected.append(param - 0.1 * m_hat / (np.sqrt(v_hat) + optimizer.epsilon))
    optimizer.step(params, [grad.copy() for grad in grads])
    assert optimizer.iterations == 2
    assert_params_equal(params, expected)


@pytest.mark.parametrize(("before", "after"), [(0.0, 0.9), (0.9, 0.0), (0.9, 0.5)])
def test_sgd_momentum_can_change_between_steps(before, after):
    optimizer = SGD(learning_rate=LEARNING_RATE, momentum=before)
    params = run_steps(optimizer, 1)
    velocity = [-LEARNING_RATE * grad for grad in gradient_sequence()[0]]
    optimizer.set_hyperparameters(momentum=after)
    grads = gradient_sequence()[1]
    # Without momentum before, there is no velocity yet: it starts at zero.
    kept = before and after
    expected = [
        param + (after * v if kept else 0.0) - LEARNING_RATE * grad
        for param, grad, v in zip(params, grads, velocity, strict=True)
    ]
    optimizer.step(params, [grad.copy() for grad in grads])
    assert_params_equal(params, expected)


def test_an_unknown_hyperparameter_is_an_error():
    with pytest.raises(TypeError, match="SGD has no hyperparameter 'rho'"):
        SGD().set_hyperparameters(rho=0.5)


def test_save_state_and_load_state_go_back_to_a_step():
    optimizer = Adam(learning_rate=LEARNING_RATE)
    params = run_steps(optimizer, 1)
    saved = optimizer.save_state()
    before_second_step = [param.copy() for param in params]
    grads = gradient_sequence()[1]
    optimizer.step(params, [grad.copy() for grad in grads])
    after_second_step = [param.copy() for param in params]
    optimizer.load_state(saved)
    assert optimizer.iterations == 1
    optimizer.step(before_second_step, [grad.copy() for grad in grads])
    assert_params_equal(before_second_step, after_second_step)


@pytest.fixture
def small_blocks(monkeypatch):
    """Make a few thousand values count as 'large', in blocks of 100 values."""
    monkeypatch.setattr(parallel_module, "BLOCKWISE_MIN_SIZE", 1000)
    monkeypatch.setattr(parallel_module, "BLOCK_BYTES", 800)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: SGD(learning_rate=0.1, momentum=0.9),
        lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
        lambda: Adagrad(),
        lambda: RMSprop(),
        lambda: Adam(decay=0.01),
    ],
    ids=["sgd", "nesterov", "adagrad", "rmsprop", "adam"],
)
def test_updates_in_blocks_on_threads_equal_whole_array_updates(
    make_optimizer, small_blocks
):
    rng = np.random.default_rng(0)
    start = rng.standard_normal((50, 81))  # 4050 values: 41 blocks
    grads = [rng.standard_normal(start.shape) for _ in range(9)]
    results = []
    for blocks in (False, True):
        params = [start.copy()]
        optimizer = make_optimizer()
        blockwise = BlockwiseUpdate()
        for grad in grads:
            if blocks:  # these steps time 1 and 2 threads, then keep one
                optimizer.step(params, [grad.copy()], apply_update=blockwise)
            else:
                optimizer._update(
                    params[0],
                    grad.copy(),
                    *optimizer_state_and_rate(optimizer, params),
                )
        results.append(params[0])
    assert results[1].tobytes() == results[0].tobytes()


def optimizer_state_and_rate(optimizer, params):
    """What `step` passes to `_update`, advancing the step counter like it."""
    if optimizer.state is None:
        optimizer.state = [optimizer._new_state(param) for param in params]
    learning_rate = optimizer.current_learning_rate
    optimizer.iterations += 1
    return optimizer.state[0], learning_rate


def adam_update(optimizer, learning_rate):
    """The elementwise update that `step` hands to the blockwise runner."""

    def update(param, grad, *state):
        optimizer._update(param, grad, state, learning_rate)

    return update


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_every_thread_count_gives_the_same_update(n_threads, small_blocks):
    rng = np.random.default_rng(1)
    start, grad = rng.standard_normal(4050), rng.standard_normal(4050)
    whole = Adam()
    whole_params = [start.copy()]
    whole._update(
        whole_params[0], grad.copy(), *optimizer_state_and_rate(whole, whole_params)
    )
    blocked = Adam()
    params = [start.copy()]
    state, learning_rate = optimizer_state_and_rate(blocked, params)
    flat = [params[0], grad.copy(), *state]
    run_on_threads(adam_update(blocked, learning_rate), flat, 100, n_threads)
    assert params[0].tobytes() == whole_params[0].tobytes()


def test_a_floating_point_error_on_a_worker_thread_reaches_the_caller(small_blocks):
    params = [np.zeros(4000)]
    grad = np.ones(4000)
    grad[-1] = 1e200  # squared in the last block, on the last thread: overflow
    optimizer = Adam()
    state, learning_rate = optimizer_state_and_rate(optimizer, params)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        run_on_threads(
            adam_update(optimizer, learning_rate), [params[0], grad, *state], 100, 2
        )


def test_pickles_leave_the_thread_timings_behind(small_blocks):
    optimizer = Adam()
    blockwise = BlockwiseUpdate()
    params = [np.zeros(4000)]
    optimizer.step(params, [np.ones(4000)], apply_update=blockwise)
    assert blockwise._timings
    payload = pickle.dumps(optimizer)
    assert b"BlockwiseUpdate" not in payload
    assert pickle.loads(payload).iterations == 1


# ------------------------------------------------------------ float32 steps
class Float64Spy(np.ndarray):
    """An ndarray that records every float64 operand of the ufuncs it meets."""

    float64_calls: list = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        operands = inputs + kwargs.get("out", ())
        if any(np.asarray(operand).dtype == np.float64 for operand in operands):
            Float64Spy.float64_calls.append(ufunc.__name__)
        plain = [
            operand.view(np.ndarray) if isinstance(operand, Float64Spy) else operand
            for operand in inputs
        ]
        if "out" in kwargs:
            kwargs["out"] = tuple(
                o.view(np.ndarray) if isinstance(o, Float64Spy) else o
                for o in kwargs["out"]
            )
        return getattr(ufunc, method)(*plain, **kwargs)


@pytest.mark.parametrize(
    "optimizer",
    [
        SGD(0.1),
        SGD(0.1, momentum=0.9),
        SGD(0.1, momentum=0.9, nesterov=True),
        Adagrad(),
        RMSprop(),
        Adam(),
        Adam(decay=0.1),
    ],
    ids=lambda optimizer: type(optimizer).__name__,
)
def test_a_float32_step_never_computes_in_float64(optimizer):
    # A NumPy float64 scalar would make NumPy run a float32 pass in float64
    # and cast back: about 7x slower, and silent.
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(50).astype(np.float32).view(Float64Spy)]
    Float64Spy.float64_calls = []
    for _ in range(3):
        grads = [rng.standard_normal(50).astype(np.float32).view(Float64Spy)]
        optimizer.step(params, grads)
    assert Float64Spy.float64_calls == []
    assert params[0].dtype == np.float32
    assert all(array.dtype == np.float32 for array in optimizer.state[0])
