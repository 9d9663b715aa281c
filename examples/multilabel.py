"""
Multilabel classification
=========================

With a multilabel indicator ``y`` of shape (n_samples, n_labels),
`NNFSClassifier` puts one sigmoid per label on its output layer and trains on
the mean binary cross-entropy (the book's binary logistic regression chapter),
so it needs no ``MultiOutputClassifier``: ``predict`` returns the 0/1 matrix
and ``predict_proba`` one independent probability per label. Here it is
compared with scikit-learn's ``MLPClassifier`` at the same settings.

Set ``SKNNFS_QUICK=1`` for a smaller, faster run (used by the test suite).
"""

# %%
import os
import warnings

from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, classification_report, hamming_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier

QUICK = os.environ.get("SKNNFS_QUICK") == "1"
N_SAMPLES = 500 if QUICK else 2000
EPOCHS = 50 if QUICK else 200

X, Y = make_multilabel_classification(n_samples=N_SAMPLES, n_classes=5, random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)
print(f"y has shape {Y.shape}: {Y.shape[1]} yes/no labels per sample")

# %%
# The same settings for both: scaled features, one hidden layer of 64,
# Adam at 1e-3, batches of 200, no L2 penalty, random_state=0.
shared = dict(hidden_layer_sizes=(64,), max_iter=EPOCHS, random_state=0)
models = {
    "NNFSClassifier": make_pipeline(
        StandardScaler(), NNFSClassifier(**shared, learning_rate=1e-3)
    ),
    "MLPClassifier": make_pipeline(
        StandardScaler(),
        MLPClassifier(**shared, learning_rate_init=1e-3, alpha=0.0),
    ),
}
with warnings.catch_warnings():
    # Both run all the epochs: the comparison is at equal training time.
    warnings.simplefilter("ignore", ConvergenceWarning)
    for model in models.values():
        model.fit(X_train, Y_train)

# Subset accuracy: a sample counts only when all of its labels are right.
for name, model in models.items():
    Y_pred = model.predict(X_test)
    print(
        f"{name:<15} subset accuracy {accuracy_score(Y_test, Y_pred):.3f}, "
        f"Hamming loss {hamming_loss(Y_test, Y_pred):.3f}"
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
print(
    classification_report(
        Y_test,
        network.predict(X_test),
        target_names=[f"label {k}" for k in range(Y.shape[1])],
        zero_division=0,
    )
)
