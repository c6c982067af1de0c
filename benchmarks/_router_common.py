"""Shared loading and RouteLLM metrics for the router benchmarks.

The RouteLLM outcomes are "measure only": they are read from the shared data
folder at run time and never copied into the repository.
"""

from __future__ import annotations

import argparse
import csv
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARE_GRID = np.linspace(0.0, 1.0, 201)
TARGET_SHARE = 0.255  # a 70% cut at gpt-4o-mini / gpt-4o prices


def data_dir_arg(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    return parser


@dataclass(frozen=True)
class Outcomes:
    """One data set's prompts with the weak and strong model's scores."""

    name: str
    prompts: list[str]
    subsets: list[str]
    weak: np.ndarray
    strong: np.ndarray

    @property
    def needs_strong(self) -> np.ndarray:
        return (self.strong > self.weak).astype(np.float64)

    def take(self, index: np.ndarray) -> Outcomes:
        return Outcomes(
            self.name,
            [self.prompts[i] for i in index],
            [self.subsets[i] for i in index],
            self.weak[index],
            self.strong[index],
        )


def load_routellm(data_dir: Path) -> dict[str, Outcomes]:
    """The decontaminated RouteLLM outcomes, by data set."""
    path = data_dir / "routellm" / "routellm_pairs.csv.gz"
    if not path.exists():
        msg = f"RouteLLM data not found at {path}; pass --data-dir."
        raise SystemExit(msg)
    rows: dict[str, list[dict[str, str]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["contaminated"] == "True":
                continue
            rows.setdefault(row["dataset"], []).append(row)
    return {
        name: Outcomes(
            name,
            [r["prompt"] for r in items],
            [r["subset"] for r in items],
            np.array([float(r["weak_score"]) for r in items]),
            np.array([float(r["strong_score"]) for r in items]),
        )
        for name, items in rows.items()
    }


def _order(scores: np.ndarray, seed: int = 0) -> np.ndarray:
    # Ties (a length router, a constant score) are broken at random but
    # reproducibly, so that no router gains from the data's row order.
    tiebreak = np.random.default_rng(seed).random(len(scores))
    return np.lexsort((tiebreak, -scores))


def quality_curve(
    scores: np.ndarray, weak: np.ndarray, strong: np.ndarray
) -> np.ndarray:
    """Mean quality when the top share of prompts by score goes to the strong model."""
    order = _order(scores)
    gain = (strong - weak)[order]
    cumulative = np.concatenate([[0.0], np.cumsum(gain)])
    n = len(scores)
    counts = np.round(SHARE_GRID * n).astype(int)
    return (weak.sum() + cumulative[counts]) / n


@dataclass(frozen=True)
class Metrics:
    quality_kept: float  # at TARGET_SHARE, as a share of the strong model's quality
    cpt50: float
    cpt80: float
    apgr: float


def metrics(scores: np.ndarray, weak: np.ndarray, strong: np.ndarray) -> Metrics:
    curve = quality_curve(scores, weak, strong)
    q_weak, q_strong = weak.mean(), strong.mean()
    pgr = (curve - q_weak) / (q_strong - q_weak)

    def cpt(level: float) -> float:
        reached = np.nonzero(pgr >= level)[0]
        return float(SHARE_GRID[reached[0]]) if len(reached) else 1.0

    at_target = np.interp(TARGET_SHARE, SHARE_GRID, curve)
    return Metrics(
        quality_kept=float(at_target / q_strong),
        cpt50=cpt(0.5),
        cpt80=cpt(0.8),
        apgr=float(np.trapezoid(pgr, SHARE_GRID)),
    )


def bootstrap(
    scores: np.ndarray,
    weak: np.ndarray,
    strong: np.ndarray,
    *,
    rounds: int = 200,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of each metric over resampled prompts."""
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in Metrics.__dataclass_fields__}
    n = len(scores)
    for _ in range(rounds):
        index = rng.integers(0, n, n)
        if strong[index].mean() == weak[index].mean():
            continue
        m = metrics(scores[index], weak[index], strong[index])
        for key in draws:
            draws[key].append(getattr(m, key))
    return {
        key: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5)))
        for key, v in draws.items()
    }


def kfold_scores(
    n: int,
    folds: int,
    train_and_score: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold scores: each prompt is scored by a model not trained on it."""
    permutation = np.random.default_rng(seed).permutation(n)
    out = np.zeros(n)
    for fold in range(folds):
        test = permutation[fold::folds]
        train = np.setdiff1d(permutation, test)
        out[test] = train_and_score(train, test)
    return out


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def with_ci(value: float, ci: tuple[float, float], *, percent: bool) -> str:
    if percent:
        return f"{pct(value)} [{pct(ci[0])}, {pct(ci[1])}]"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
