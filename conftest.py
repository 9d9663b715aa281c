"""pytest configuration shared by tests/ and the doctests of sknnfs/."""

import importlib.util

# The Examples of sknnfs/onnx.py need the optional onnx extra; without it they
# are not collected, as tests/test_onnx.py skips.
collect_ignore = (
    ["sknnfs/onnx.py"]
    if any(
        importlib.util.find_spec(name) is None for name in ("skl2onnx", "onnxruntime")
    )
    else []
)
