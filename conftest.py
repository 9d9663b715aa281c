"""pytest configuration shared by tests/ and the doctests of sknnfs/."""

import importlib.util

# The Examples of sknnfs/onnx.py need the optional onnx extra; without it they
# are not collected, as tests/test_onnx.py skips. Those of sknnfs/callbacks.py
# set callbacks, which need scikit-learn 1.9 or later (sklearn.callback).
collect_ignore = []
if any(importlib.util.find_spec(name) is None for name in ("skl2onnx", "onnxruntime")):
    collect_ignore.append("sknnfs/onnx.py")
if importlib.util.find_spec("sklearn.callback") is None:
    collect_ignore.append("sknnfs/callbacks.py")
