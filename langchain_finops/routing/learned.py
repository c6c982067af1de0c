"""The default classifier: a small learned model of when the cheap tier falls short."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from typing_extensions import override

from langchain_finops.routing._features import SparseRows, hash_features, hash_rows
from langchain_finops.routing._logistic import fit_logistic, sigmoid
from langchain_finops.routing.base import RoutingClassifier, RoutingDecision

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

__all__ = ["DEFAULT_WEIGHTS", "LearnedComplexityClassifier", "train_weights"]

DEFAULT_WEIGHTS = "complexity_v1.npz"
_FORMAT_VERSION = 1
DEFAULT_N_FEATURES = 2**18
DEFAULT_L2 = 1e-4
DEFAULT_EPOCHS = 300
# After `fit`, the threshold sends this share of the training prompts to the
# strong tier until the router is calibrated on real traffic.
_FIT_STRONG_SHARE = 0.25


def _idf(rows: SparseRows) -> npt.NDArray[np.float64]:
    document_frequency = np.bincount(rows.indices, minlength=rows.n_features)
    idf: npt.NDArray[np.float64] = (
        np.log((1.0 + rows.n_rows) / (1.0 + document_frequency)) + 1.0
    )
    return idf


def train_weights(
    prompts: Sequence[str],
    needs_strong: Sequence[bool] | npt.NDArray[np.float64],
    *,
    n_features: int = DEFAULT_N_FEATURES,
    l2: float = DEFAULT_L2,
    epochs: int = DEFAULT_EPOCHS,
) -> dict[str, npt.NDArray[np.float64] | float]:
    """Train the classifier's arrays: the recipe behind the shipped weights.

    Args:
        prompts: Training prompts.
        needs_strong: For each prompt, whether the cheap model fell short.
        n_features: Hash buckets; a power of two.
        l2: L2 penalty of the logistic regression.
        epochs: Full-batch Adam passes.

    Returns:
        `weights`, `idf` and `bias`.
    """
    labels = np.asarray(needs_strong, dtype=np.float64)
    rows = hash_rows(prompts, n_features)
    idf = _idf(rows)
    weights, bias = fit_logistic(rows.scaled(idf), labels, l2=l2, epochs=epochs)
    return {"weights": weights, "idf": idf, "bias": bias}


def _validate_training(prompts: Sequence[str], needs_strong: Sequence[bool]) -> None:
    if isinstance(prompts, str):
        msg = "fit() takes a list of prompts, not one string."
        raise TypeError(msg)
    if len(prompts) != len(needs_strong):
        msg = (
            f"fit() got {len(prompts)} prompts but {len(needs_strong)} labels; "
            "pass one `needs_strong` value per prompt."
        )
        raise ValueError(msg)
    for index, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            msg = f"Prompt {index} is a {type(prompt).__name__}, not a string."
            raise TypeError(msg)
    values = {bool(v) for v in needs_strong}
    if any(v not in (0, 1, True, False) for v in needs_strong):
        msg = "`needs_strong` must hold booleans (or 0 / 1)."
        raise ValueError(msg)
    if values != {True, False}:
        msg = (
            "fit() needs prompts of both kinds: some where the cheap model fell "
            f"short and some where it did not; all labels are {values.pop()}."
        )
        raise ValueError(msg)


class LearnedComplexityClassifier(RoutingClassifier):
    """Predicts from the prompt alone whether the cheap model would fall short.

    Hashed word unigrams and bigrams (TF-IDF weighted) feed a logistic
    regression; scoring is a few dictionary look-ups and one dot product in
    numpy, with no network and no model download. The shipped weights were
    trained on public per-prompt outcomes of a strong and a weak model (see
    `data/NOTICE-routing.md`); `fit` retrains on your own outcomes.

    Example:
        ```python
        from langchain_finops.routing import LearnedComplexityClassifier

        classifier = LearnedComplexityClassifier()
        classifier.score("hi there")  # a float in [0, 1]
        classifier.fit(my_prompts, my_cheap_model_failed)
        ```

    Args:
        weights_path: A `.npz` written by `save`; the shipped weights when None.

    Raises:
        ValueError: If the file is not a weights file of this classifier.
    """

    def __init__(self, *, weights_path: str | Path | None = None) -> None:
        if weights_path is None:
            blob = resources.files("langchain_finops.routing.data").joinpath(
                DEFAULT_WEIGHTS
            )
            data = np.load(io.BytesIO(blob.read_bytes()))
        else:
            data = np.load(Path(weights_path))
        try:
            version = int(data["format_version"])
            weights = np.asarray(data["weights"], dtype=np.float64)
            idf = np.asarray(data["idf"], dtype=np.float64)
            bias = float(data["bias"])
            threshold = float(data["default_threshold"])
        except KeyError as error:
            msg = f"{weights_path} is not a LearnedComplexityClassifier file: {error}."
            raise ValueError(msg) from error
        if version != _FORMAT_VERSION or weights.shape != idf.shape:
            msg = f"{weights_path} has an unsupported format (version {version})."
            raise ValueError(msg)
        self._set(weights, idf, bias, threshold)

    @classmethod
    def trained(
        cls,
        prompts: Sequence[str],
        needs_strong: Sequence[bool],
        *,
        n_features: int = DEFAULT_N_FEATURES,
        l2: float = DEFAULT_L2,
        epochs: int = DEFAULT_EPOCHS,
    ) -> LearnedComplexityClassifier:
        """A classifier trained from scratch, without loading the shipped weights.

        Args:
            prompts: Training prompts.
            needs_strong: For each, True when the cheap model fell short.
            n_features: Hash buckets; a power of two.
            l2: L2 penalty.
            epochs: Full-batch training passes.

        Returns:
            The trained classifier.

        Raises:
            TypeError: If `prompts` is not a list of strings.
            ValueError: If the lengths differ, only one kind of label is
                present, or `n_features` is not a power of two.
        """
        classifier = cls.__new__(cls)
        classifier._set(np.zeros(n_features), np.ones(n_features), 0.0, 0.5)
        return classifier.fit(prompts, needs_strong, l2=l2, epochs=epochs)

    def _set(
        self,
        weights: npt.NDArray[np.float64],
        idf: npt.NDArray[np.float64],
        bias: float,
        threshold: float,
    ) -> None:
        n_features = len(weights)
        if n_features < 2 or n_features & (n_features - 1):
            msg = f"The number of features must be a power of two, not {n_features}."
            raise ValueError(msg)
        self._weights = weights
        self._idf = idf
        self._bias = bias
        self.default_threshold = threshold

    @property
    def n_features(self) -> int:
        """The number of hash buckets."""
        return len(self._weights)

    def _logit(self, prompt: str) -> float:
        counts = hash_features(prompt, self.n_features)
        if not counts:
            return self._bias
        indices = np.fromiter(counts, dtype=np.int64, count=len(counts))
        raw = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values = np.sign(raw) * np.log1p(np.abs(raw)) * self._idf[indices]
        norm = math.sqrt(float(values @ values)) or 1.0
        return float(values @ self._weights[indices]) / norm + self._bias

    @override
    def classify(
        self, prompt: str, config: RunnableConfig | None = None
    ) -> RoutingDecision:
        if not isinstance(prompt, str):
            msg = f"classify() takes a string, not {type(prompt).__name__}."
            raise TypeError(msg)
        logit = self._logit(prompt)
        score = 1.0 / (1.0 + math.exp(-logit)) if logit > -700 else 0.0
        label = "strong" if score >= self.default_threshold else "cheap"
        return RoutingDecision(score=score, label=label)

    @override
    def scores(self, prompts: Sequence[str]) -> list[float]:
        rows = hash_rows(prompts, self.n_features).scaled(self._idf)
        return [float(s) for s in sigmoid(rows.dot(self._weights) + self._bias)]

    def fit(
        self,
        prompts: Sequence[str],
        needs_strong: Sequence[bool],
        *,
        l2: float = DEFAULT_L2,
        epochs: int = DEFAULT_EPOCHS,
    ) -> LearnedComplexityClassifier:
        """Retrain on your own outcomes, replacing the current weights.

        The new default threshold sends the top quarter of the training
        prompts to the strong tier; calibrate the router on live traffic for
        another share.

        Args:
            prompts: Prompts your application sent.
            needs_strong: For each, True when the cheap model's answer fell
                short (judged by tests, users or a grader).
            l2: L2 penalty; raise it for small data sets.
            epochs: Full-batch training passes.

        Returns:
            This classifier, retrained.

        Raises:
            TypeError: If `prompts` is not a list of strings.
            ValueError: If the lengths differ or only one kind of label is present.
        """
        _validate_training(prompts, needs_strong)
        arrays = train_weights(
            prompts, needs_strong, n_features=self.n_features, l2=l2, epochs=epochs
        )
        weights = np.asarray(arrays["weights"])
        idf = np.asarray(arrays["idf"])
        bias = float(arrays["bias"])
        self._set(weights, idf, bias, self.default_threshold)
        scores = np.asarray(self.scores(prompts))
        self.default_threshold = float(np.quantile(scores, 1 - _FIT_STRONG_SHARE))
        return self

    def save(self, path: str | Path) -> None:
        """Write the weights to a compressed `.npz` that `weights_path` loads.

        Args:
            path: Where to write.
        """
        np.savez_compressed(
            Path(path),
            format_version=np.int64(_FORMAT_VERSION),
            weights=self._weights.astype(np.float32),
            idf=self._idf.astype(np.float32),
            bias=np.float64(self._bias),
            default_threshold=np.float64(self.default_threshold),
        )
