"""
Digits: a Pipeline and GridSearchCV over hidden sizes, dropout and L2
=====================================================================

`NNFSClassifier` is an ordinary scikit-learn estimator: it goes into a
``Pipeline`` after a scaler, and ``GridSearchCV`` tunes its parameters with
the ``step__parameter`` names. Its ``score`` is the negated log-loss, so the
search ranks by cross-entropy unless ``scoring`` says otherwise; here both
are reported and the refit picks the best accuracy.

What it finds: the L2 penalty (``l2=1e-3``) lowers the cross-validated
log-loss of every combination of hidden sizes and dropout, the most accurate
candidate is a penalised one, and the refitted pipeline scores about 0.98 on
the held-out digits.

Writes ``digits_grid_search.png`` (the search results) to the current
directory when matplotlib is installed.
"""

# %%
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
pipeline = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "net",
            NNFSClassifier(
                learning_rate=0.005,
                max_iter=60,
                random_state=0,
            ),
        ),
    ]
)
grid = {
    "net__hidden_layer_sizes": [(32,), (64, 32)],
    "net__dropout": [0.0, 0.2],
    "net__l2": [0.0, 1e-3],
}
search = GridSearchCV(
    pipeline,
    grid,
    scoring={"accuracy": "accuracy", "neg_log_loss": "neg_log_loss"},
    refit="accuracy",
    cv=3,
)
with warnings.catch_warnings():
    # A fixed budget of 60 epochs keeps the search to seconds; some
    # candidates would train on.
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)

print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
print(f"held-out accuracy: {accuracy_score(y_test, search.predict(X_test)):.3f}")

# %%
# Every candidate: accuracy and log-loss side by side.
results = search.cv_results_
order = results["rank_test_accuracy"].argsort()
print(f"\n{'hidden':<10}{'dropout':>8}{'l2':>8}{'accuracy':>10}{'log-loss':>10}")
for index in order:
    params = results["params"][index]
    print(
        f"{params['net__hidden_layer_sizes']!s:<10}"
        f"{params['net__dropout']:>8}{params['net__l2']:>8}"
        f"{results['mean_test_accuracy'][index]:>10.3f}"
        f"{-results['mean_test_neg_log_loss'][index]:>10.3f}"
    )

# %%
try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
except ImportError:
    print("matplotlib is not installed: no picture")
else:
    # One bar per candidate, best at the top; labels on the axis never overlap.
    figure = Figure(figsize=(8, 0.8 + 0.32 * len(order)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    ranked = order[::-1]
    labels = [
        "hidden={net__hidden_layer_sizes} dropout={net__dropout} l2={net__l2}".format(
            **results["params"][index]
        )
        for index in ranked
    ]
    accuracies = results["mean_test_accuracy"][ranked]
    axes.barh(labels, accuracies, color="#1f77b4")
    for row, index in enumerate(ranked):
        axes.annotate(
            f"log-loss {-results['mean_test_neg_log_loss'][index]:.3f}",
            (accuracies[row], row),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.set_xlim(accuracies.min() - 0.05, 1.0)
    axes.set_xlabel("cross-validated accuracy")
    figure.suptitle("Digits: GridSearchCV over NNFSClassifier in a Pipeline")
    figure.savefig("digits_grid_search.png")
    print("wrote digits_grid_search.png")
