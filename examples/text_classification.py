"""
Text classification from raw strings: TfidfVectorizer to sparse input
=====================================================================

`NNFSClassifier` trains on a SciPy sparse matrix as it is: the first dense
layer multiplies the CSR matrix directly, it is never densified. A
``TfidfVectorizer`` in a ``Pipeline`` turns raw strings into that matrix.

The corpus is a small one written here (no download): short sentences about
four topics.

What it finds: every held-out document gets its topic right (the topics
share few words), and new sentences built from words of one topic get that
topic with a probability of about 0.9.

Writes ``text_classification.png`` (the probability of each topic for a few
new sentences) to the current directory when matplotlib is installed.
"""

# %%
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sknnfs import NNFSClassifier

VOCABULARY = {
    "sport": [
        "the team won the match",
        "a late goal decided the final",
        "the striker scored twice",
        "fans cheered in the stadium",
        "the coach praised the defence",
        "a penalty in extra time",
        "the league title race",
        "the keeper saved the shot",
        "runners crossed the finish line",
        "the tennis player served an ace",
    ],
    "cooking": [
        "simmer the sauce gently",
        "add salt and fresh basil",
        "bake the bread until golden",
        "whisk the eggs with sugar",
        "chop the onions finely",
        "roast the vegetables in the oven",
        "the soup needs more pepper",
        "knead the dough for ten minutes",
        "serve the pasta with cheese",
        "fry the garlic in olive oil",
    ],
    "computing": [
        "the compiler reported an error",
        "install the package with pip",
        "the server ran out of memory",
        "a bug in the parser",
        "the function returns a sparse matrix",
        "run the tests before merging",
        "the database query was slow",
        "update the kernel driver",
        "the script reads a csv file",
        "profile the loop to find the hotspot",
    ],
    "weather": [
        "heavy rain is expected tonight",
        "a cold front brings snow",
        "sunny skies and a light breeze",
        "the storm knocked out power",
        "fog will clear by noon",
        "temperatures drop below freezing",
        "thunder and lightning in the evening",
        "a heat wave across the south",
        "strong winds along the coast",
        "showers clearing to sunshine",
    ],
}


def make_corpus(n_documents, rng):
    """Documents of two or three sentences, all from one topic."""
    topics = sorted(VOCABULARY)
    documents, labels = [], []
    for _ in range(n_documents):
        topic = topics[rng.integers(len(topics))]
        sentences = rng.choice(VOCABULARY[topic], size=rng.integers(2, 4))
        documents.append(". ".join(sentences))
        labels.append(topic)
    return documents, np.array(labels)


rng = np.random.default_rng(0)  # a local generator: the global one stays alone
documents, labels = make_corpus(800, rng)
docs_train, docs_test, y_train, y_test = train_test_split(
    documents, labels, test_size=0.3, stratify=labels, random_state=0
)
print(docs_train[0], "->", y_train[0])

# %%
vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
model = make_pipeline(
    vectorizer,
    NNFSClassifier(
        hidden_layer_sizes=(32,),
        learning_rate=0.01,
        dropout=0.2,
        random_state=0,
    ),
)
model.fit(docs_train, y_train)
tfidf = vectorizer.transform(docs_train)
print(
    f"tf-idf matrix: {type(tfidf).__name__}, shape {tfidf.shape}, "
    f"{tfidf.nnz / np.prod(tfidf.shape):.1%} non-zero"
)
assert sparse.issparse(tfidf)

# %%
print(classification_report(y_test, model.predict(docs_test)))
print(f"epochs run: {model[-1].n_iter_}")

# %%
# New sentences, each made of words from one topic's sentences.
new_texts = [
    "the goal keeper saved a penalty",
    "bake the pasta with cheese",
    "the parser raised an error",
    "snow and strong winds tonight",
]
probabilities = model.predict_proba(new_texts)
for text, row in zip(new_texts, probabilities, strict=True):
    best = row.argmax()
    print(f"{text!r}: {model.classes_[best]} ({row[best]:.2f})")

# %%
try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
except ImportError:
    print("matplotlib is not installed: no picture")
else:
    figure = Figure(figsize=(7, 3.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    image = axes.imshow(probabilities, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(np.arange(len(model.classes_)), model.classes_)
    axes.set_yticks(np.arange(len(new_texts)), new_texts)
    for (row, column), value in np.ndenumerate(probabilities):
        axes.text(
            column,
            row,
            f"{value:.2f}",
            ha="center",
            va="center",
            color="white" if value > 0.5 else "black",
        )
    figure.colorbar(image, ax=axes, label="predict_proba")
    axes.set_title("Topic probabilities of new sentences")
    figure.savefig("text_classification.png")
    print("wrote text_classification.png")
