"""L2-regularised logistic regression on sparse rows, trained with numpy only.

The shipped weights and a user's `fit(...)` go through this same code, so the
classifier a user retrains behaves like the one that was benchmarked.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from langchain_finops.routing._features import SparseRows

__all__ = ["fit_logistic", "sigmoid"]


def sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The logistic function, without overflow for large |z|."""
    out: npt.NDArray[np.float64] = np.exp(-np.logaddexp(0.0, -z))
    return out


def fit_logistic(
    rows: SparseRows,
    labels: npt.NDArray[np.float64],
    *,
    l2: float,
    epochs: int = 300,
    learning_rate: float = 0.05,
) -> tuple[npt.NDArray[np.float64], float]:
    """Fit weights and a bias by full-batch Adam on the mean log loss.

    Args:
        rows: Feature rows (unit length, so one learning rate suits any data).
        labels: 1.0 where the strong model was needed, else 0.0.
        l2: Strength of the L2 penalty on the weights (not the bias).
        epochs: Full passes over the data.
        learning_rate: Adam's step size.

    Returns:
        The weights and the bias.
    """
    n = rows.n_rows
    weights = np.zeros(rows.n_features, dtype=np.float64)
    # Start the bias at the log-odds of the base rate: the first steps then
    # learn the prompts' features instead of the class balance.
    rate = float(np.clip(labels.mean(), 1e-6, 1 - 1e-6))
    bias = float(np.log(rate / (1 - rate)))
    m_w = np.zeros_like(weights)
    v_w = np.zeros_like(weights)
    m_b = v_b = 0.0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        residuals = sigmoid(rows.dot(weights) + bias) - labels
        grad_w = rows.transpose_dot(residuals) / n + l2 * weights
        grad_b = float(residuals.mean())
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w**2
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b**2
        correction1 = 1 - beta1**step
        correction2 = 1 - beta2**step
        weights -= (
            learning_rate * (m_w / correction1) / (np.sqrt(v_w / correction2) + eps)
        )
        bias -= learning_rate * (m_b / correction1) / (np.sqrt(v_b / correction2) + eps)
    return weights, bias
