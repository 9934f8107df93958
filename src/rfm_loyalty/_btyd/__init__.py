"""Machinery of :mod:`rfm_loyalty.btyd`: one module per model, plus what they share.

``checks`` (input tables and settings), ``rows`` (identical customers merged
with weights), ``fitting`` (objective, optimiser, standard errors),
``special`` (hypergeometric functions and integrals), ``base`` (the model
base classes: summary, persistence, the purchase-model interface); the
models ``bgnbd``, ``mbgnbd``, ``paretonbd``, ``bgbb``, ``sbg``,
``gammagamma``; ``value`` (lifetime value), ``tables`` (summaries built
from orders), ``compare`` (model comparison).
"""
