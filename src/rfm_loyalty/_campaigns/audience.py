"""The result of :func:`rfm_loyalty.campaigns.select_audience`: tables, cost and files."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._campaigns import files
from rfm_loyalty._campaigns.stats import rate_detectable
from rfm_loyalty._validation import Choice, Fraction, check
from rfm_loyalty.exceptions import InvalidParameterError

#: Columns of the send list, before the pass-through columns are inserted after the id.
SEND_LIST_COLUMNS = ("customer_id", "label", "label_zh", "segment", "action", "action_zh",
                     "template", "channel", "campaign")


@dataclass(frozen=True)
class CampaignCost:
    """What sending the campaign costs: treatment contacts x cost per contact.

    Attributes
    ----------
    channel : str
        The channel (``"sms"``, ``"email"``, ...).
    contacts : int
        Customers contacted: the treatment group (the control group is not
        contacted).
    cost_per_contact : float
        Cost of one contact, in the currency of the orders.
    total : float
        ``contacts * cost_per_contact``.
    source : str
        ``"given"`` (the ``cost_per_contact`` argument) or ``"CHANNEL_COSTS"``
        (the default of the channel).

    Examples
    --------
    >>> str(CampaignCost("sms", 1200, 0.05, 60.0, "CHANNEL_COSTS"))
    '1,200 sms contacts x 0.05 = 60.00 (cost per contact from CHANNEL_COSTS)'
    """

    channel: str
    contacts: int
    cost_per_contact: float
    total: float
    source: str

    def __str__(self) -> str:
        return (f"{self.contacts:,} {self.channel} contacts x {self.cost_per_contact:g} = "
                f"{self.total:,.2f} (cost per contact from {self.source})")


@dataclass(frozen=True, eq=False)
class Audience:
    """A campaign's audience: who, why, which group, and what it costs.

    Made by :func:`~rfm_loyalty.campaigns.select_audience`; see it for how
    every table is built.

    Attributes
    ----------
    name : str
        Campaign name; with the customer id it decides the group.
    date : pandas.Timestamp
        Campaign date (midnight): the contact rule counts days from it.
    table : pandas.DataFrame
        One row per selected customer, index ``customer_id`` (text), sorted
        by id; columns in ``select_audience``'s Returns section.
    funnel : pandas.DataFrame
        The filters in the order they ran: ``step``, ``rule`` (text),
        ``removed``, ``remaining`` (int64). The first row is the whole table.
    balance : pandas.DataFrame
        Index ``covariate`` (recency_days, frequency, monetary_total, and
        p_alive when present): ``mean_treatment``, ``mean_control``,
        ``sd_treatment``, ``sd_control``, ``smd`` (float64).
    strata : pandas.DataFrame
        Index (``lifecycle``, ``segment``): ``customers``, ``treatment``,
        ``control`` (int64), ``control_share`` (float64).
    cost : CampaignCost
    holdout : float or int
        As given: a share of the audience or a count of customers.
    split : {"stable", "exact"}
    channel : str
    notes : tuple of str
        What the tables cannot show or what was left out, in words.
    params : Mapping
        Every parameter of the call, JSON-serialisable.
    """

    name: str
    date: pd.Timestamp
    table: pd.DataFrame = field(repr=False)
    funnel: pd.DataFrame = field(repr=False)
    balance: pd.DataFrame = field(repr=False)
    strata: pd.DataFrame = field(repr=False)
    cost: CampaignCost
    holdout: float | int
    split: str
    channel: str
    notes: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict, repr=False)
    passthrough: tuple[str, ...] = ()

    # --------------------------------------------------------------- views
    def __str__(self) -> str:
        from rfm_loyalty._campaigns.render import audience_text

        return audience_text(self)

    def _repr_html_(self) -> str:
        from rfm_loyalty._campaigns.render import audience_html

        return audience_html(self)

    @property
    def treatment(self) -> pd.DataFrame:
        """The rows of ``table`` in the treatment group (the customers to contact)."""
        return self.table[self.table["group"] == "treatment"]

    @property
    def control(self) -> pd.DataFrame:
        """The rows of ``table`` in the control group (not contacted, kept for measurement)."""
        return self.table[self.table["group"] == "control"]

    def minimum_detectable_lift(self, base_rate: float = 0.05, *, power: float = 0.8,
                                confidence: float = 0.95) -> float:
        """Smallest response-rate lift this split can detect, before sending.

        The normal-approximation formula ``(z_(1-alpha/2) + z_power) *
        sqrt(p (1 - p) (1/n_treatment + 1/n_control))`` at a response rate
        ``p = base_rate`` (two-sided, ``alpha = 1 - confidence``).

        Parameters
        ----------
        base_rate : float, default 0.05
            Share of the audience expected to buy in the window anyway.
        power : float, default 0.8
        confidence : float, default 0.95

        Returns
        -------
        float
            The lift in rate units (0.03 = 3 percentage points); NaN without
            a control group.

        Examples
        --------
        >>> from rfm_loyalty.campaigns import select_audience
        >>> from rfm_loyalty.datasets import load_sample_orders
        >>> from rfm_loyalty import analyze
        >>> audience = select_audience(analyze(load_sample_orders()), name="spring")
        >>> round(audience.minimum_detectable_lift(0.05), 3)
        0.062
        """
        owner = "Audience.minimum_detectable_lift"
        base_rate = check(base_rate, Fraction(low_open=True, high_open=True),
                          name="base_rate", owner=owner)
        power = check(power, Fraction(low_open=True, high_open=True), name="power", owner=owner)
        confidence = check(confidence, Fraction(low_open=True, high_open=True),
                           name="confidence", owner=owner)
        n_t, n_c = len(self.treatment), len(self.control)
        if n_t == 0 or n_c == 0:
            return float("nan")
        return float(rate_detectable(base_rate, n_t, n_c, power=power, confidence=confidence))

    # -------------------------------------------------------------- tables
    def send_list(self) -> pd.DataFrame:
        """Return the treatment group in the fields a CRM or SMS tool imports.

        Returns
        -------
        pandas.DataFrame
            Default index, one row per treatment customer, sorted by id; all
            columns text: ``customer_id``, the pass-through columns (e.g.
            ``name``, ``mobile``) as given, ``label`` (lifecycle label),
            ``label_zh``, ``segment``, ``action``, ``action_zh``,
            ``template`` (the message-template slot), ``channel``,
            ``campaign``.

        Examples
        --------
        >>> from rfm_loyalty.campaigns import select_audience
        >>> from rfm_loyalty.datasets import load_sample_orders
        >>> from rfm_loyalty import analyze
        >>> audience = select_audience(analyze(load_sample_orders()), name="spring",
        ...                            lifecycle="high_recovery")
        >>> audience.send_list().iloc[0][["label", "template", "channel"]].tolist()
        ['high_recovery', 'spring/high_recovery', 'sms']
        """
        t = self.treatment
        n, text = len(t), files.as_text
        columns: dict[str, Any] = {"customer_id": text(t.index)}
        columns.update({c: t[c].array for c in self.passthrough})
        columns.update({
            "label": text(t["lifecycle"]), "label_zh": text(t["lifecycle_zh"]),
            "segment": text(t["segment"]), "action": text(t["action"]),
            "action_zh": text(t["action_zh"]), "template": text(t["template"]),
            "channel": files.constant_text(self.channel, n),
            "campaign": files.constant_text(self.name, n),
        })
        return pd.DataFrame(columns, index=pd.RangeIndex(n))

    def assignments(self) -> pd.DataFrame:
        """Every audience customer with their group: the file kept for measuring the lift.

        Returns
        -------
        pandas.DataFrame
            Default index, one row per customer, sorted by id; the columns of
            :data:`rfm_loyalty.campaigns.ASSIGNMENT_COLUMNS` that apply
            (``tier`` only with a cost input, ``p_alive``,
            ``expected_purchases``, ``clv`` only with models). Pass-through
            columns (names, phone numbers) are left out: measurement does not
            need them.

        Examples
        --------
        >>> from rfm_loyalty.campaigns import select_audience
        >>> from rfm_loyalty.datasets import load_sample_orders
        >>> from rfm_loyalty import analyze
        >>> audience = select_audience(analyze(load_sample_orders()), name="spring")
        >>> list(audience.assignments().columns)[:5]
        ['campaign', 'campaign_date', 'customer_id', 'group', 'lifecycle']
        """
        t = self.table
        n = len(t)
        text = files.as_text
        values: dict[str, Any] = {
            "campaign": files.constant_text(self.name, n),
            "campaign_date": np.full(n, np.datetime64(self.date, "ns")),
            "customer_id": text(t.index), "group": text(t["group"]),
            "lifecycle": text(t["lifecycle"]), "segment": text(t["segment"]),
            "stratum": text(t["stratum"]), "draw": t["draw"].to_numpy(dtype=float),
            "channel": files.constant_text(self.channel, n),
            "contact_cost": np.where((t["group"] == "treatment").to_numpy(),
                                     self.cost.cost_per_contact, 0.0),
        }
        frame = {}
        for name, dtype, _, _ in files.ASSIGNMENT_COLUMNS:
            if name in values:
                frame[name] = values[name]
            elif name in t.columns:
                frame[name] = (text(t[name]) if dtype == "text"
                               else t[name].to_numpy(dtype=dtype))
        return pd.DataFrame(frame, index=pd.RangeIndex(n))

    def contact_log(self) -> pd.DataFrame:
        """Return this campaign's contacts as a log that ``select_audience(contacts=...)`` reads.

        Returns
        -------
        pandas.DataFrame
            One row per treatment customer: ``customer_id`` (text),
            ``contact_date`` (datetime64[ns], the campaign date), ``channel``,
            ``campaign`` (text). Append it to the log before selecting the
            next campaign.

        Examples
        --------
        >>> from rfm_loyalty.campaigns import select_audience
        >>> from rfm_loyalty.datasets import load_sample_orders
        >>> from rfm_loyalty import analyze
        >>> result = analyze(load_sample_orders())
        >>> first = select_audience(result, name="spring", lifecycle="cooling")
        >>> second = select_audience(result, name="summer", lifecycle="cooling",
        ...                          contacts=first.contact_log(), min_days_between_contacts=14)
        >>> int(second.funnel.set_index("step").loc["contacts", "removed"]) == len(first.treatment)
        True
        """
        t = self.treatment
        return pd.DataFrame({
            "customer_id": files.coerce(pd.Series(t.index.to_numpy(dtype=object)), "text"),
            "contact_date": pd.Series(self.date, index=range(len(t)), dtype="datetime64[ns]"),
            "channel": files.coerce(pd.Series([self.channel] * len(t), dtype=object), "text"),
            "campaign": files.coerce(pd.Series([self.name] * len(t), dtype=object), "text"),
        })

    # --------------------------------------------------------------- files
    def write_send_list(self, path: str | os.PathLike[str], *, format: str | None = None,
                        encoding: str = "utf-8-sig") -> Path:
        r"""Write the send list (the treatment group) as CSV, XLSX or JSON.

        Parameters
        ----------
        path : path-like
            The file; its folder must exist. Written atomically (a temporary
            file beside it, then moved over it).
        format : {"csv", "xlsx", "json"}, optional
            Default: from the suffix of ``path``.
        encoding : {"utf-8-sig", "utf-8", "gb18030"}, default "utf-8-sig"
            CSV only: UTF-8 with a byte-order mark (Excel then reads Chinese
            text right), without it, or GB18030 (Chinese-locale tools). XLSX
            and JSON are always Unicode.

        Returns
        -------
        pathlib.Path
            The file written. CSV and XLSX text cells starting with ``=``,
            ``+``, ``-``, ``@``, a tab or a carriage return get a leading
            ``'`` (:func:`rfm_loyalty.export.neutralize_formulas`).

        Examples
        --------
        >>> import tempfile, os
        >>> from rfm_loyalty.campaigns import select_audience
        >>> from rfm_loyalty.datasets import load_sample_orders
        >>> from rfm_loyalty import analyze
        >>> audience = select_audience(analyze(load_sample_orders()), name="spring")
        >>> path = audience.write_send_list(os.path.join(tempfile.mkdtemp(), "send.csv"))
        >>> path.read_bytes()[:3] == b"\xef\xbb\xbf"  # the BOM Excel looks for
        True
        """
        return self._write(path, self.send_list(), format, encoding, "write_send_list",
                           escaped=False)

    def write_assignments(self, path: str | os.PathLike[str], *, format: str | None = None,
                          encoding: str = "utf-8-sig") -> Path:
        """Write the assignment file (every customer with their group) as CSV, XLSX or JSON.

        Parameters
        ----------
        path : path-like
            The file; its folder must exist. Written atomically.
        format : {"csv", "xlsx", "json"}, optional
            Default: from the suffix of ``path``.
        encoding : {"utf-8-sig", "utf-8", "gb18030"}, default "utf-8-sig"
            CSV only.

        Returns
        -------
        pathlib.Path
            The file written; :func:`rfm_loyalty.campaigns.read_assignment`
            reads it back: CSV and JSON exactly (ids included), XLSX with
            numbers to Excel's 15 significant digits (and, as XML does, a
            carriage return in a text read back as a line feed).

        Examples
        --------
        >>> import tempfile, os
        >>> from rfm_loyalty.campaigns import read_assignment, select_audience
        >>> from rfm_loyalty.datasets import load_sample_orders
        >>> from rfm_loyalty import analyze
        >>> audience = select_audience(analyze(load_sample_orders()), name="spring")
        >>> path = audience.write_assignments(os.path.join(tempfile.mkdtemp(), "a.csv"))
        >>> read_assignment(path).equals(audience.assignments())
        True
        """
        return self._write(path, self.assignments(), format, encoding, "write_assignments",
                           escaped=True)

    def _write(self, path: str | os.PathLike[str], frame: pd.DataFrame, format: str | None,
               encoding: str, method: str, *, escaped: bool) -> Path:
        owner = f"Audience.{method}"
        encoding = check(encoding, Choice(*files.ENCODINGS), name="encoding", owner=owner)
        target = Path(path)
        return files.write_frame(frame, target, files.file_format(target, format, owner=owner),
                                 encoding, escaped=escaped)

    def export(self, folder: str | os.PathLike[str], *,
               format: str | Sequence[str] = "csv", encoding: str = "utf-8-sig") -> list[Path]:
        """Write the send list, the assignment file, the funnel and ``campaign.json``.

        Parameters
        ----------
        folder : path-like
            Created when missing. Files of the same names are replaced
            (each atomically).
        format : {"csv", "xlsx", "json"} or a sequence of them, default "csv"
        encoding : {"utf-8-sig", "utf-8", "gb18030"}, default "utf-8-sig"
            CSV only.

        Returns
        -------
        list of pathlib.Path
            ``send_list.<ext>``, ``assignment.<ext>``, ``funnel.<ext>`` per
            format, then ``campaign.json`` (name, date, split, holdout, group
            sizes, cost, funnel, balance, strata, notes, every parameter, the
            library version, the files).

        Examples
        --------
        >>> import tempfile
        >>> from rfm_loyalty.campaigns import select_audience
        >>> from rfm_loyalty.datasets import load_sample_orders
        >>> from rfm_loyalty import analyze
        >>> audience = select_audience(analyze(load_sample_orders()), name="spring")
        >>> [p.name for p in audience.export(tempfile.mkdtemp(), format=["csv", "json"])]
        ['send_list.csv', 'assignment.csv', 'funnel.csv', 'send_list.json', 'assignment.json',
         'funnel.json', 'campaign.json']
        """
        owner = "Audience.export"
        formats = [format] if isinstance(format, str) else list(format)
        for fmt in formats:
            check(fmt, Choice(*files.FILE_FORMATS), name="format", owner=owner)
        if not formats:
            raise InvalidParameterError(
                f"The 'format' parameter of {owner} must name at least one of "
                f"{list(files.FILE_FORMATS)!r}. Got {format!r} instead."
            )
        encoding = check(encoding, Choice(*files.ENCODINGS), name="encoding", owner=owner)
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        tables = {"send_list": self.send_list(), "assignment": self.assignments(),
                  "funnel": self.funnel}
        for fmt in dict.fromkeys(formats):
            for stem, frame in tables.items():
                path = target / f"{stem}{files.FILE_FORMATS[fmt]}"
                written.append(files.write_frame(frame, path, fmt, encoding,
                                                 escaped=stem == "assignment"))
        record = self._metadata([p.name for p in written])
        written.append(files.write_json(record, target / "campaign.json"))
        return written

    def _metadata(self, names: list[str]) -> dict[str, Any]:
        from rfm_loyalty._version import __version__

        return {
            "campaign": self.name, "campaign_date": self.date.date().isoformat(),
            "split": self.split, "holdout": self.holdout,
            "customers": len(self.table), "treatment": len(self.treatment),
            "control": len(self.control),
            "cost": {"channel": self.cost.channel, "contacts": self.cost.contacts,
                     "cost_per_contact": self.cost.cost_per_contact, "total": self.cost.total,
                     "source": self.cost.source},
            "draw": "SipHash-2-4 of the UTF-8 customer id keyed with BLAKE2b-128 of the UTF-8 "
                    "campaign name; top 53 bits / 2**53",
            "funnel": files.json_records(self.funnel),
            "balance": files.json_records(self.balance.reset_index()),
            "strata": files.json_records(self.strata.reset_index().astype(
                {"lifecycle": str, "segment": str})),
            "notes": list(self.notes), "parameters": dict(self.params),
            "library": {"name": "rfm-loyalty", "version": __version__, "pandas": pd.__version__},
            "formula_neutralisation": "CSV and XLSX text cells starting with = + - @ tab or CR "
                                      "are prefixed with a single quote",
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "files": names,
        }
