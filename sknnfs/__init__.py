"""sknnfs: the building blocks of *Neural Networks from Scratch in Python* as
scikit-learn estimators.

The estimators (`NNFSClassifier`, `NNFSRegressor`) hold the scikit-learn glue;
the blocks they are built from (layers, activations, losses, optimizers) are
public too and import only NumPy. `ReduceLROnPlateau` and `Checkpoint` are
scikit-learn callbacks for the estimators' epochs (`sknnfs.callbacks`).
"""

from ._activations import Linear, ReLU, Sigmoid, Softmax, Tanh
from ._classifier import NNFSClassifier
from ._layers import Dense, Dropout
from ._losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    ExponentialPoissonDeviance,
    MeanAbsoluteError,
    MeanSquaredError,
    SigmoidBinaryCrossentropy,
    SoftmaxCategoricalCrossentropy,
)
from ._network import Network
from ._optimizers import SGD, Adagrad, Adam, RMSprop
from ._regressor import NNFSRegressor
from .callbacks import Checkpoint, ReduceLROnPlateau

__version__ = "0.1.0"

__all__ = [
    "NNFSClassifier",
    "NNFSRegressor",
    "Dense",
    "Dropout",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Linear",
    "CategoricalCrossentropy",
    "BinaryCrossentropy",
    "SoftmaxCategoricalCrossentropy",
    "SigmoidBinaryCrossentropy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "ExponentialPoissonDeviance",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "Network",
    "ReduceLROnPlateau",
    "Checkpoint",
    "__version__",
]
