"""The NumPy array types the reasoners' signatures use (one spelling for all of them)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int32]
"""Sparse-matrix indices (scipy's CSR/CSC ``indices``)."""
IndexArray = NDArray[np.intp]
"""Positions returned by ``argsort`` and friends."""
