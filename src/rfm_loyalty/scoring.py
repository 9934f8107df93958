"""RFM scores: learn bin edges on one customer table, apply them to any other.

:class:`RFMScorer` is a scikit-learn transformer. ``fit`` learns, per
dimension (recency, frequency, monetary), the thresholds that cut the
customers into ``n_bins`` score bands; ``transform`` turns a customer table
into ``r_score, f_score, m_score, rfm_code, rfm_score``. Because the edges
are learned once and stored, next month's customers can be scored on this
month's scale, which is what makes scores comparable over time.

Conventions (see ``docs/scoring.md``):

* every band is closed on the right: a value equal to a threshold falls in
  the lower band, for learned and for business thresholds alike;
* higher score is always better, so recency is reversed (fewest days since
  the last purchase -> highest ``r_score``);
* equal values always get equal scores. Quantile thresholds are actual data
  values (``np.quantile(..., method="inverted_cdf")``) made distinct with
  ``np.unique``, and values are placed with ``np.searchsorted``; there is no
  rank-based tie breaking. When ties leave fewer distinct thresholds than
  asked for, the dimension gets fewer bands (``n_bins_``), a
  :class:`~rfm_loyalty.exceptions.BinningWarning` says so, and its scores
  run ``1..n_bins_[dimension]``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import BinningWarning, SchemaError

__all__ = ["SCORE_COLUMNS", "RFMScorer"]

#: Names of the columns :meth:`RFMScorer.transform` returns, in order.
SCORE_COLUMNS: tuple[str, ...] = ("r_score", "f_score", "m_score", "rfm_code", "rfm_score")

_METHODS = ("quantile", "fixed")
_MIN_BINS = 2
_MAX_BINS = 10


class RFMScorer(TransformerMixin, BaseEstimator):
    """Score customers 1..n_bins on recency, frequency and monetary value.

    Parameters
    ----------
    n_bins : int, default 5
        Number of score bands per dimension, 2 to 10.
    method : {"quantile", "fixed"}, default "quantile"
        ``"quantile"`` learns thresholds from the data so that each band holds
        about ``1 / n_bins`` of the customers. ``"fixed"`` uses the business
        thresholds given in ``bins`` for the dimensions named there; the
        other dimensions are still binned by quantiles.
    bins : dict of str to list of float, optional
        Only with ``method="fixed"``. Maps a column name (one of ``columns``)
        to ``n_bins - 1`` strictly increasing thresholds in the column's units.
        Each threshold is the inclusive upper end of a band: with
        ``{"recency_days": [45, 90, 180, 360]}`` a customer whose last purchase
        was 45 days ago gets ``r_score`` 5, one at 46 days gets 4.
    columns : tuple of three str, default ("recency_days", "frequency", "monetary_total")
        The recency, frequency and monetary columns of the customer table, in
        that order. Recency is scored in reverse.

    Attributes
    ----------
    bin_edges_ : dict of str to numpy.ndarray
        Per column, the interior thresholds (ascending, in the column's units)
        that separate the bands; ``len(bin_edges_[c]) == n_bins_[c] - 1``.
    n_bins_ : dict of str to int
        Per column, the number of bands actually learned. Smaller than
        ``n_bins`` when ties collapsed quantile thresholds.

    See Also
    --------
    rfm_loyalty.segments.assign_segments : Name the score cells.

    Notes
    -----
    A value beyond the fitted range gets the end score (1 or ``n_bins_``).
    Missing values are refused, because a missing recency or spend has no
    meaningful score.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.scoring import RFMScorer
    >>> customers = pd.DataFrame(
    ...     {
    ...         "recency_days": [3, 20, 50, 120, 400],
    ...         "frequency": [9, 4, 3, 2, 1],
    ...         "monetary_total": [900.0, 400.0, 250.0, 80.0, 10.0],
    ...     },
    ...     index=pd.Index(["a", "b", "c", "d", "e"], name="customer_id"),
    ... )
    >>> RFMScorer(n_bins=5).fit_transform(customers)
                 r_score  f_score  m_score rfm_code  rfm_score
    customer_id
    a                  5        5        5      555         15
    b                  4        4        4      444         12
    c                  3        3        3      333          9
    d                  2        2        2      222          6
    e                  1        1        1      111          3
    """

    def __init__(
        self,
        n_bins: int = 5,
        *,
        method: str = "quantile",
        bins: Mapping[str, Sequence[float]] | None = None,
        columns: tuple[str, str, str] = ("recency_days", "frequency", "monetary_total"),
    ) -> None:
        # scikit-learn convention: store the parameters untouched; validate in fit.
        self.n_bins = n_bins
        self.method = method
        self.bins = bins
        self.columns = columns

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> RFMScorer:
        """Learn the score thresholds of each dimension from a customer table.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 3)
            The customer table (e.g. :func:`rfm_loyalty.summary.rfm_table`),
            holding the three ``columns``; an array is read in ``columns``
            order.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        RFMScorer
            The fitted scorer (``self``), with ``bin_edges_`` and ``n_bins_``.

        Raises
        ------
        ValueError
            If a parameter is invalid or the data is empty or has missing values.
        rfm_loyalty.exceptions.SchemaError
            If a column is missing.
        """
        columns = self._check_params()
        values = _as_matrix(X, columns, caller="fit")
        if values.shape[0] == 0:
            raise ValueError(
                "RFMScorer.fit got an empty table (0 customers); fit on a customer "
                "table with at least one row."
            )
        fixed = dict(self.bins) if self.bins is not None else {}
        edges: dict[str, np.ndarray] = {}
        n_bins: dict[str, int] = {}
        for position, column in enumerate(columns):
            if column in fixed:
                cut = np.asarray(fixed[column], dtype="float64")
            else:
                cut = _quantile_edges(values[:, position], self.n_bins)
                if len(cut) + 1 < self.n_bins:
                    _warn_collapse(column, values[:, position], len(cut) + 1, self.n_bins)
            edges[column] = cut
            n_bins[column] = len(cut) + 1
        self.bin_edges_ = edges
        self.n_bins_ = n_bins
        self.n_features_in_ = len(columns)
        return self

    # ------------------------------------------------------------ transform
    def transform(self, X: Any) -> pd.DataFrame:
        """Score customers on the fitted thresholds.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 3)
            Customer table holding the three ``columns`` (any other columns
            are ignored); an array is read in ``columns`` order.

        Returns
        -------
        pandas.DataFrame
            One row per input row, same index (a ``RangeIndex`` for arrays):

            ========== ========= ===============================================
            column     dtype     meaning
            ========== ========= ===============================================
            r_score    int64     recency band, 1..n_bins_; higher = more recent
            f_score    int64     frequency band, 1..n_bins_; higher = more often
            m_score    int64     monetary band, 1..n_bins_; higher = spends more
            rfm_code   text      the three scores as text, ``"545"``; when a
                                 dimension has 10 bands, joined by ``"-"``:
                                 ``"10-4-5"``
            rfm_score  int64     r_score + f_score + m_score
            ========== ========= ===============================================

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit`.
        """
        self._check_fitted("transform")
        columns = tuple(self.columns)
        values = _as_matrix(X, columns, caller="transform")
        recency, frequency, monetary = (values[:, i] for i in range(3))
        r_edges, f_edges, m_edges = (self.bin_edges_[c] for c in columns)
        # side="left" counts the thresholds strictly below the value, so a
        # value equal to a threshold stays in the lower band (right-closed).
        r_band = np.searchsorted(r_edges, recency, side="left")
        r_score = len(r_edges) + 1 - r_band
        f_score = np.searchsorted(f_edges, frequency, side="left") + 1
        m_score = np.searchsorted(m_edges, monetary, side="left") + 1
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(values))
        scores = {
            "r_score": r_score.astype("int64"),
            "f_score": f_score.astype("int64"),
            "m_score": m_score.astype("int64"),
        }
        out = pd.DataFrame(scores, index=index)
        out["rfm_code"] = pd.Series(
            # the learned band counts, not the n_bins parameter, which
            # set_params may have changed since fit
            _codes(r_score, f_score, m_score, max(self.n_bins_.values())), index=index
        )
        out["rfm_score"] = (r_score + f_score + m_score).astype("int64")
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the columns :meth:`transform` returns.

        Parameters
        ----------
        input_features : array-like of str, optional
            Ignored (the output names do not depend on the input names);
            present for scikit-learn compatibility.

        Returns
        -------
        numpy.ndarray of str
            ``["r_score", "f_score", "m_score", "rfm_code", "rfm_score"]``.
        """
        self._check_fitted("get_feature_names_out")
        return np.asarray(SCORE_COLUMNS, dtype=object)

    # -------------------------------------------------------------- helpers
    def _check_fitted(self, caller: str) -> None:
        if not hasattr(self, "bin_edges_"):
            raise NotFittedError(
                f"This RFMScorer is not fitted yet, so {caller} cannot run: call "
                "fit(customers) with a customer table (e.g. rfm_table(orders)) first, "
                "or use fit_transform."
            )

    def _check_params(self) -> tuple[str, str, str]:
        n_bins = self.n_bins
        if (
            isinstance(n_bins, bool)
            or not isinstance(n_bins, (int, np.integer))
            or not _MIN_BINS <= n_bins <= _MAX_BINS
        ):
            raise ValueError(
                f"The 'n_bins' parameter of RFMScorer must be an int from {_MIN_BINS} "
                f"to {_MAX_BINS}. Got {n_bins!r} instead."
            )
        if self.method not in _METHODS:
            raise ValueError(
                f"The 'method' parameter of RFMScorer must be one of {_METHODS!r}. "
                f"Got {self.method!r} instead."
            )
        columns = self.columns
        if (
            isinstance(columns, str)
            or not isinstance(columns, Sequence)
            or len(columns) != 3
            or not all(isinstance(c, str) for c in columns)
            or len(set(columns)) != 3
        ):
            raise ValueError(
                "The 'columns' parameter of RFMScorer must be three distinct column "
                "names (recency, frequency, monetary), e.g. ('recency_days', "
                f"'frequency', 'monetary_total'). Got {columns!r} instead."
            )
        cols: tuple[str, str, str] = (columns[0], columns[1], columns[2])
        if self.method == "quantile":
            if self.bins is not None:
                raise ValueError(
                    "The 'bins' parameter of RFMScorer is only used with "
                    f"method='fixed'. Got bins={self.bins!r} with method='quantile': "
                    "set method='fixed' or drop bins."
                )
            return cols
        if not isinstance(self.bins, Mapping) or len(self.bins) == 0:
            raise ValueError(
                "The 'bins' parameter of RFMScorer must map at least one of "
                f"{list(cols)!r} to its thresholds when method='fixed', e.g. "
                f"{{'recency_days': [45, 90, 180, 360]}}. Got {self.bins!r} instead."
            )
        for key, thresholds in self.bins.items():
            _check_thresholds(key, thresholds, cols, self.n_bins)
        return cols


def _check_thresholds(key: Any, thresholds: Any, columns: tuple[str, ...], n_bins: int) -> None:
    if key not in columns:
        hint = _suggest(str(key), columns)
        suggestion = f" Did you mean {hint!r}?" if hint else ""
        raise ValueError(
            f"The 'bins' parameter of RFMScorer names column {key!r}, which is not one "
            f"of the scored columns {list(columns)!r}.{suggestion}"
        )
    try:
        cut = np.asarray(thresholds, dtype="float64")
    except (TypeError, ValueError):
        cut = np.asarray([np.nan])
    if (
        isinstance(thresholds, (str, bytes))
        or cut.ndim != 1
        or not np.all(np.isfinite(cut))
        or np.any(np.diff(cut) <= 0)
    ):
        raise ValueError(
            f"bins[{key!r}] must be a list of strictly increasing finite numbers, "
            f"e.g. [45, 90, 180, 360]. Got {thresholds!r} instead."
        )
    if len(cut) != n_bins - 1:
        raise ValueError(
            f"bins[{key!r}] has {len(cut)} thresholds, which make {len(cut) + 1} "
            f"bands, but n_bins={n_bins}: give n_bins - 1 = {n_bins - 1} thresholds "
            f"or set n_bins={len(cut) + 1}. Got {thresholds!r}."
        )


def _suggest(name: str, options: Sequence[str]) -> str | None:
    """Closest option: one that starts like ``name`` first, else difflib's best."""
    lowered = name.lower()
    for option in options:
        if option.lower().startswith(lowered) or lowered.startswith(option.lower()):
            return option
    close = difflib.get_close_matches(name, list(options), n=1)
    return close[0] if close else None


def _as_matrix(X: Any, columns: tuple[str, ...], *, caller: str) -> np.ndarray:
    """Return the three scored columns as a float matrix, checking them."""
    if isinstance(X, pd.DataFrame):
        missing = [c for c in columns if c not in X.columns]
        if missing:
            found = [str(c) for c in X.columns]
            hints = {m: _suggest(m, found) for m in missing}
            hint_text = "".join(
                f" For {m!r} did you mean {h!r}?" for m, h in hints.items() if h
            )
            raise SchemaError(
                f"RFMScorer.{caller} needs the columns {list(columns)!r}; missing "
                f"{missing!r}. Found {found!r}.{hint_text} Pass the customer table "
                "from rfm_table(orders), or set columns=(recency, frequency, monetary)."
            )
        frame = X.loc[:, list(columns)]
        bad = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])
               or pd.api.types.is_bool_dtype(frame[c])]
        if bad:
            raise SchemaError(
                f"RFMScorer.{caller} needs numeric columns; {bad!r} have dtypes "
                f"{[str(frame[c].dtype) for c in bad]!r}. Convert them to numbers first."
            )
        values = frame.to_numpy(dtype="float64", na_value=np.nan)
    else:
        try:
            values = np.asarray(X, dtype="float64")
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"RFMScorer.{caller} needs a DataFrame with columns {list(columns)!r} "
                f"or a numeric array of shape (n_customers, 3). Got {type(X).__name__}."
            ) from err
        if values.ndim != 2 or values.shape[1] != 3:
            raise ValueError(
                f"RFMScorer.{caller} needs an array of shape (n_customers, 3) with the "
                f"columns {list(columns)!r} in that order. Got shape {values.shape!r}."
            )
    missing_counts = np.isnan(values).sum(axis=0)
    if missing_counts.any():
        detail = {c: int(n) for c, n in zip(columns, missing_counts, strict=True) if n}
        raise ValueError(
            f"RFMScorer.{caller} cannot score missing values; missing per column: "
            f"{detail!r}. Drop or fill those customers first."
        )
    return values


def _quantile_edges(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Distinct interior quantile thresholds that leave no band empty.

    ``inverted_cdf`` returns observed values (no interpolation), so every band
    ``(edge[i-1], edge[i]]`` holds at least the customers at ``edge[i]``; a
    threshold at the maximum would leave the top band empty and is dropped.
    """
    probabilities = np.arange(1, n_bins) / n_bins
    cut = np.unique(np.quantile(values, probabilities, method="inverted_cdf"))
    return cut[cut < values.max()]


def _warn_collapse(column: str, values: np.ndarray, bands: int, requested: int) -> None:
    distinct, counts = np.unique(values, return_counts=True)
    top = int(np.argmax(counts))
    share = counts[top] / len(values)
    value = distinct[top]
    value_text = f"{value:g}"
    warn_user(
        f"Ties collapsed the {column!r} score bins: {share:.1%} of customers "
        f"({counts[top]} of {len(values)}) share the value {value_text}, so only "
        f"{bands} of the {requested} requested bins remain (n_bins_[{column!r}] == "
        f"{bands}; scores run 1..{bands}). Equal values always get equal scores; "
        "for business bands use method='fixed' with bins, or ask for fewer bins.",
        BinningWarning,
    )


def _codes(r: np.ndarray, f: np.ndarray, m: np.ndarray, n_bins: int) -> np.ndarray:
    """Text codes such as ``"545"`` through a lookup table (no per-row string work)."""
    size = max(int(n_bins), 1)
    scores = np.arange(1, size + 1)
    # Single digits concatenate unambiguously; "10" would not, so 10 bands use "-".
    sep = "-" if size >= 10 else ""
    lookup = np.array(
        [f"{a}{sep}{b}{sep}{c}" for a in scores for b in scores for c in scores],
        dtype=object,
    )
    position = (r - 1) * size * size + (f - 1) * size + (m - 1)
    return lookup[position]
