"""Matplotlib plots of rfm_loyalty results.

Every function takes a computed table or result (it never recomputes the
analytics), draws on ``ax`` or on a new figure when ``ax`` is None, returns
the Axes, never calls ``plt.show()`` and leaves matplotlib's global settings
alone. Colours come from the colour-blind-safe Okabe-Ito palette
(:data:`OKABE_ITO`) and heatmaps use ``viridis``. ``lang="zh"`` draws Chinese
labels with the first CJK font matplotlib finds; without one it falls back to
English labels and says so once per session (Chinese text without a font
would draw as empty boxes).
"""

from rfm_loyalty.plotting._churn import plot_cohort_retention, plot_customer_flow, plot_migration
from rfm_loyalty.plotting._common import OKABE_ITO, find_cjk_font
from rfm_loyalty.plotting._loyalty import (
    plot_loyalty_matrix,
    plot_member_tiers,
    plot_second_purchase,
)
from rfm_loyalty.plotting._models import (
    plot_calibration,
    plot_p_alive_matrix,
    plot_repeat_purchases,
    plot_rfm_histogram,
    plot_transactions_tracking,
)
from rfm_loyalty.plotting._segments import plot_lifecycle, plot_rfm_heatmap, plot_segments
from rfm_loyalty.plotting._value import plot_pareto, plot_profit_tiers, plot_whale_curve

__all__ = [
    "OKABE_ITO",
    "find_cjk_font",
    "plot_calibration",
    "plot_cohort_retention",
    "plot_customer_flow",
    "plot_lifecycle",
    "plot_loyalty_matrix",
    "plot_member_tiers",
    "plot_migration",
    "plot_p_alive_matrix",
    "plot_pareto",
    "plot_profit_tiers",
    "plot_repeat_purchases",
    "plot_rfm_heatmap",
    "plot_rfm_histogram",
    "plot_second_purchase",
    "plot_segments",
    "plot_transactions_tracking",
    "plot_whale_curve",
]
