"""Comparing outputs with values stored in tests/data, on any CPU.

The stored outputs were computed on one CPU, under OpenBLAS's SkylakeX
kernel. Another kernel (Haswell, Sandybridge, ... on another CPU) blocks each
matrix product differently, so the terms of a dot product are summed in
another order and the last bits of every layer's outputs may differ; a
training step then carries those differences into the weights. A comparison
with a stored output therefore allows a few units in the last place, scaled
to the dtype, and nothing more: any real change of the model (one weight,
an activation, a dtype, a penalty) moves the outputs by orders of magnitude
more. Bit-for-bit claims (same machine, same kernel) are tested elsewhere,
without a stored file.
"""

import numpy as np

# In units of the dtype's machine epsilon, relative to the largest stored
# value. Measured on this project's fixtures: at most 15 eps between the
# SkylakeX, Haswell, Sandybridge and Katmai (OPENBLAS_CORETYPE=Prescott)
# kernels, after a further epoch of training; 64 leaves room for a kernel
# that blocks differently again, and is still 8e-6 in float32 and 1.4e-14 in
# float64.
KERNEL_EPS = 64


def assert_matches_stored(actual, stored):
    """``actual`` equals ``stored`` up to what another BLAS kernel may change.

    The dtype and shape must be the stored ones exactly.
    """
    actual = np.asarray(actual)
    stored = np.asarray(stored)
    assert actual.dtype == stored.dtype, (actual.dtype, stored.dtype)
    assert actual.shape == stored.shape, (actual.shape, stored.shape)
    tolerance = KERNEL_EPS * np.finfo(stored.dtype).eps
    scale = max(float(np.max(np.abs(stored), initial=0.0)), np.finfo(stored.dtype).tiny)
    np.testing.assert_allclose(actual, stored, rtol=tolerance, atol=tolerance * scale)
