"""
Out-of-core training with partial_fit over chunks
=================================================

When the data do not fit in memory, read them chunk by chunk and call
``partial_fit`` on each chunk: one epoch (a pass in minibatches) over that
chunk, continuing from the current weights and optimizer state. The first
call names every class (``classes=``); the scaler learns incrementally too.

Here the "file" is a generator that makes each chunk on demand, so the
whole data set never exists at once. The held-out score is printed after
every pass over all chunks.

What it finds: the held-out log-loss falls with every pass, and the held-out
accuracy reaches about 0.9 after five passes over 40,000 rows.

Writes ``out_of_core_partial_fit.png`` to the current directory when
matplotlib is installed.
"""

# %%
import numpy as np
from sklearn.metrics import accuracy_score, log_loss
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier

N_CHUNKS = 20
CHUNK_ROWS = 2000
N_PASSES = 5
N_FEATURES = 20
CLASSES = np.array([0, 1, 2])

# A fixed random "teacher" network labels the data, so there is something
# non-linear to learn.
teacher_rng = np.random.default_rng(42)
teacher_hidden = teacher_rng.normal(size=(N_FEATURES, 16))
teacher_out = teacher_rng.normal(size=(16, len(CLASSES)))


def read_chunk(index):
    """Chunk ``index`` of the data set, the same every time it is read."""
    rng = np.random.default_rng(1000 + index)
    X = rng.normal(size=(CHUNK_ROWS, N_FEATURES)) * rng.uniform(0.5, 3, N_FEATURES)
    y = (np.tanh(X @ teacher_hidden / N_FEATURES**0.5) @ teacher_out).argmax(axis=1)
    return X, y


X_test, y_test = read_chunk(-1)

# %%
# First pass: the scaler sees every chunk once (partial_fit), before training.
scaler = StandardScaler()
for index in range(N_CHUNKS):
    scaler.partial_fit(read_chunk(index)[0])

model = NNFSClassifier(
    hidden_layer_sizes=(64,), learning_rate=0.003, batch_size=100, random_state=0
)
history = []
for epoch in range(N_PASSES):
    for index in range(N_CHUNKS):
        X_chunk, y_chunk = read_chunk(index)
        model.partial_fit(scaler.transform(X_chunk), y_chunk, classes=CLASSES)
    probabilities = model.predict_proba(scaler.transform(X_test))
    history.append(
        (
            accuracy_score(y_test, CLASSES[probabilities.argmax(axis=1)]),
            log_loss(y_test, probabilities, labels=CLASSES),
        )
    )
    print(
        f"pass {epoch + 1}: {model.t_} rows seen, held-out accuracy "
        f"{history[-1][0]:.3f}, log-loss {history[-1][1]:.3f}"
    )

# %%
try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
except ImportError:
    print("matplotlib is not installed: no picture")
else:
    figure = Figure(figsize=(6, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    steps = np.arange(1, len(model.loss_curve_) + 1)
    axes.plot(
        steps,
        model.loss_curve_,
        label="training loss per partial_fit call (cross-entropy + L2 penalty)",
    )
    axes.plot(
        np.arange(1, N_PASSES + 1) * N_CHUNKS,
        [loss for _, loss in history],
        "o-",
        label="held-out log-loss after each pass (cross-entropy only)",
    )
    axes.set_xlabel("partial_fit calls (one chunk each)")
    axes.set_ylabel("mean loss")
    axes.set_ylim(bottom=0)
    axes.legend()
    axes.set_title("Out-of-core training with partial_fit")
    figure.savefig("out_of_core_partial_fit.png")
    print("wrote out_of_core_partial_fit.png")
