"""Reading order lines: the machinery behind :mod:`rfm_loyalty.orders`.

One module per concern, each used by ``orders`` (and the engines where they
must read the same way):

* ``options``: ``OrderColumns`` and ``ReadOptions``, every reading option checked once;
* ``files``: reading CSV, Excel and Parquet files (the format, file errors, missing columns);
* ``delimited``: text files: the encoding and the separator detected, bad lines counted;
* ``columns``: matching common English and Chinese headers to roles (``columns="auto"``);
* ``dates``: one reading of a whole date column; the analysis date ``as_of``;
* ``numbers``: amounts from numbers or text (currency signs, decimal commas);
* ``ids``, ``fixed_width``: identifiers as text, hashed once;
* ``lines``: the parsed lines, their drop reasons, lines summed into orders;
* ``accounting``: drop reasons, the quality report, the bad-row warning.
"""
