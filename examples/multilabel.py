"""
Multilabel classification
=========================

With a multilabel indicator ``y`` of shape (n_samples, n_labels),
`NNFSClassifier` puts one sigmoid per label on its output layer and trains on
the mean binary cross-entropy (the book's binary logistic regression chapter),
so it needs no ``MultiOutputClassifier``: ``predict`` returns the 0/1 matrix
and ``predict_proba`` one independent probability per label. Here it is
compared with scikit-learn's ``MLPClassifier`` at the same settings and the
same objective.

What it finds: the two networks agree within a point of subset accuracy and
of Hamming loss, and within three points of F1 on every label.

Writes ``multilabel.png`` (the F1 score of every label, for both) to the
current directory when matplotlib is installed.
"""

# %%
import time
import warnings

import numpy as np
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    f1_score,
    hamming_loss,
)
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier

X, Y = make_multilabel_classification(n_samples=2000, n_classes=5, random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)
n_labels = Y.shape[1]
print(f"y has shape {Y.shape}: {n_labels} yes/no labels per sample")

# %%
# The same settings for both: scaled features, one hidden layer of 64,
# Adam at 1e-3, batches of 200, 200 epochs, random_state=0. And the same
# objective: MLP adds alpha / (2 * 200) * sum(W**2) to the binary
# cross-entropy summed over the labels, ours l2 * sum(W**2) to its mean over
# the labels, so MLP's default alpha=1e-4 is l2 = 1e-4 / (2 * 200 * 5).
alpha = 1e-4
# Both train on every row (MLP's default early_stopping=False; ours is 'auto').
shared = dict(
    hidden_layer_sizes=(64,),
    batch_size=200,
    max_iter=200,
    early_stopping=False,
    random_state=0,
)
models = {
    "NNFSClassifier": make_pipeline(
        StandardScaler(),
        NNFSClassifier(**shared, learning_rate=1e-3, l2=alpha / (2 * 200 * n_labels)),
    ),
    "MLPClassifier": make_pipeline(
        StandardScaler(),
        MLPClassifier(**shared, learning_rate_init=1e-3, alpha=alpha),
    ),
}
seconds = {}
with warnings.catch_warnings():
    # Both run all the epochs: the comparison is at equal training time.
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, Y_train)
        seconds[name] = time.perf_counter() - start

# Subset accuracy: a sample counts only when all of its labels are right.
for name, model in models.items():
    Y_pred = model.predict(X_test)
    print(
        f"{name:<15} subset accuracy {accuracy_score(Y_test, Y_pred):.3f}, "
        f"Hamming loss {hamming_loss(Y_test, Y_pred):.3f}, "
        f"fit {seconds[name]:.2f} s"
    )

# %%
# One independent probability per label: the rows do not sum to one.
network = models["NNFSClassifier"]
print("predict_proba of the first two test samples:")
print(network.predict_proba(X_test[:2]).round(3))
print("their predicted labels:", network.predict(X_test[:2]).tolist())
print("their true labels:     ", Y_test[:2].tolist())

# %%
# Precision and recall of every label.
label_names = [f"label {k}" for k in range(n_labels)]
print(
    classification_report(
        Y_test, network.predict(X_test), target_names=label_names, zero_division=0
    )
)

# %%
# The F1 score of every label, for both networks.
f1 = {
    name: f1_score(Y_test, model.predict(X_test), average=None, zero_division=0)
    for name, model in models.items()
}
for name, scores in f1.items():
    print(f"{name:<15} F1 per label {scores.round(3)}")
try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
except ImportError:
    print("matplotlib is not installed: no picture")
else:
    figure = Figure(figsize=(7, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    positions = np.arange(n_labels)
    for offset, (name, scores) in zip((-0.2, 0.2), f1.items(), strict=True):
        axes.bar(positions + offset, scores, width=0.4, label=name)
    axes.set_xticks(positions, label_names)
    axes.set_ylabel("F1 on held-out data")
    axes.set_ylim(0, 1)
    axes.legend(loc="upper center", ncols=2)
    axes.set_title("Multilabel: one sigmoid per label, the same objective for both")
    figure.savefig("multilabel.png")
    print("wrote multilabel.png")
