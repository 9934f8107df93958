"""Tests of rfm_loyalty.campaigns.select_audience: filters, contact log, split, balance, cost."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty import analyze
from rfm_loyalty._campaigns.assign import balance_table, split
from rfm_loyalty._campaigns.hashing import (
    assignment_draws,
    campaign_key,
    siphash24,
    utf8_matrix,
)
from rfm_loyalty.campaigns import CHANNEL_COSTS, Audience, CampaignCost, select_audience
from rfm_loyalty.datasets import make_orders
from rfm_loyalty.exceptions import InvalidParameterError, SchemaError
from rfm_loyalty.lifecycle import ACTIONS, LABELS_ZH

LABELS = ["new", "active", "returning", "cooling", "high_recovery", "low_recovery", "lost"]


def customers(rows: list[tuple]) -> pd.DataFrame:
    """A customer table in the shape of Analysis.customers from (id, lifecycle, segment,
    recency, frequency, monetary[, extra columns...]) tuples."""
    frame = pd.DataFrame(rows, columns=["customer_id", "lifecycle", "segment", "recency_days",
                                        "frequency", "monetary_total"])
    frame["lifecycle"] = pd.Categorical(frame["lifecycle"], categories=LABELS, ordered=True)
    frame["segment"] = pd.Categorical(frame["segment"],
                                      categories=["Champions", "At Risk", "Hibernating"],
                                      ordered=True)
    frame["lifecycle_zh"] = frame["lifecycle"].astype(str).map(LABELS_ZH)
    frame["action"] = frame["lifecycle"].astype(str).map(lambda x: ACTIONS[x].en)
    frame["action_zh"] = frame["lifecycle"].astype(str).map(lambda x: ACTIONS[x].zh)
    frame = frame.set_index("customer_id")
    frame.attrs = {"as_of": "2024-06-08"}
    return frame


# Ten customers; the comments give what each filter below does to them.
TEN = customers([
    ("A", "high_recovery", "At Risk", 100, 3, 300.0),
    ("B", "high_recovery", "At Risk", 120, 1, 50.0),
    ("C", "low_recovery", "Hibernating", 200, 2, 80.0),
    ("D", "low_recovery", "At Risk", 250, 5, 900.0),
    ("E", "low_recovery", "Hibernating", 300, 1, 20.0),
    ("F", "new", "Champions", 5, 1, 70.0),
    ("G", "active", "Champions", 10, 9, 2000.0),
    ("H", "lost", "Hibernating", 400, 2, 60.0),
    ("I", "high_recovery", "Hibernating", 150, 2, 120.0),
    ("J", "cooling", "At Risk", 60, 4, 400.0),
])
TEN["p_alive"] = [0.6, 0.2, 0.4, 0.7, 0.1, 0.9, 0.95, 0.05, np.nan, 0.5]
TEN["tier"] = pd.Categorical(
    ["profitable", "break_even", "break_even", "profitable", "resource_wasting", "break_even",
     "profitable", "resource_wasting", "break_even", "profitable"],
    categories=["profitable", "break_even", "resource_wasting"], ordered=True)
TEN["clv"] = [50.0, 5.0, 8.0, 90.0, 1.0, 20.0, 400.0, 0.5, np.nan, 40.0]
TEN.attrs = {"as_of": "2024-06-08"}


def funnel(audience: Audience) -> list[tuple[str, int, int]]:
    return [(r.step, r.removed, r.remaining) for r in audience.funnel.itertuples()]


# --------------------------------------------------------------------------- filters
def test_every_filter_is_counted_in_order():
    log = pd.DataFrame({"customer_id": ["D"], "contact_date": ["2024-06-05"]})
    audience = select_audience(
        TEN, name="t", lifecycle=["high_recovery", "low_recovery"],  # keeps A B C D E I
        segments=["At Risk", "Hibernating"],  # all six pass
        tiers=["profitable", "break_even"],  # E (resource_wasting) out
        min_p_alive=0.3,  # B (0.2) out, I (NaN) out
        where="monetary_total >= 100",  # C (80) out
        exclude=["A", "ZZZ"],  # A out; ZZZ is no customer
        contacts=log, min_days_between_contacts=7,  # D contacted 3 days before: out
        holdout=0,
    )
    assert funnel(audience) == [
        ("customers", 0, 10), ("lifecycle", 4, 6), ("segments", 0, 6), ("tiers", 1, 5),
        ("min_p_alive", 2, 3), ("where", 1, 2), ("exclude", 1, 1), ("contacts", 1, 0),
    ]
    assert list(audience.funnel.columns) == ["step", "rule", "removed", "remaining"]
    assert audience.funnel["removed"].dtype == np.int64
    assert audience.funnel["rule"].tolist()[1] == "lifecycle in ['high_recovery', 'low_recovery']"
    assert len(audience.table) == 0
    assert "1 ids of the exclude list are not in the customer table." in audience.notes


def test_max_size_keeps_the_highest_value_then_the_lowest_draw():
    audience = select_audience(TEN, name="t", max_size=3, holdout=0)
    assert sorted(audience.table.index) == ["A", "D", "G"]  # clv 400, 90, 50
    assert funnel(audience)[-1] == ("max_size", 7, 3)
    no_models = TEN.drop(columns=["clv"])
    assert sorted(select_audience(no_models, name="t", max_size=2, holdout=0).table.index) == [
        "D", "G"]  # monetary_total 2000, 900
    # ties: equal values are broken by the campaign's draw, lowest first
    flat = TEN.drop(columns=["clv"]).assign(monetary_total=1.0)
    picked = select_audience(flat, name="tie", max_size=4, holdout=0).table.index
    draws = pd.Series(assignment_draws("tie", flat.index.to_numpy()), index=flat.index)
    assert sorted(picked) == sorted(draws.nsmallest(4).index)


def test_the_audience_table_documents_who_and_why():
    audience = select_audience(TEN, name="winback", lifecycle="high_recovery", min_p_alive=0.1,
                               holdout=0)
    table = audience.table
    assert list(table.index) == ["A", "B"]  # I has no p_alive
    assert table.loc["A", "why"] == "lifecycle high_recovery; p_alive 0.60 >= 0.10"
    assert table.loc["A", "action"] == ACTIONS["high_recovery"].en
    assert table.loc["A", "action_zh"] == ACTIONS["high_recovery"].zh
    assert table.loc["A", "lifecycle_zh"] == "高挽回顾客"
    assert table.loc["A", "template"] == "winback/high_recovery"
    assert table.loc["A", "stratum"] == "high_recovery / At Risk"
    assert list(table.columns) == [
        "group", "stratum", "draw", "lifecycle", "lifecycle_zh", "segment", "action",
        "action_zh", "template", "why", "recency_days", "frequency", "monetary_total", "tier",
        "p_alive", "clv"]
    assert table["recency_days"].dtype == np.int64 and table["draw"].dtype == np.float64
    assert isinstance(table["lifecycle"].dtype, pd.CategoricalDtype)
    everyone = select_audience(TEN, name="x", exclude=["A"], holdout=0)
    assert set(everyone.table["why"]) == {"all customers"}


def test_where_accepts_a_function_and_reports_a_broken_rule():
    def big_spenders(table):
        return table["monetary_total"] > 500

    audience = select_audience(TEN, name="t", where=big_spenders, holdout=0)
    assert sorted(audience.table.index) == ["D", "G"]
    assert audience.funnel["rule"].iloc[-1] == "big_spenders"
    with pytest.raises(InvalidParameterError, match="could not be evaluated on the customer"):
        select_audience(TEN, name="t", where="no_such_column > 1")
    with pytest.raises(InvalidParameterError, match="must give True or False for every"):
        select_audience(TEN, name="t", where=lambda t: t["monetary_total"])


def test_contact_log_rule_counts_days_from_the_campaign_date():
    # campaign on 8 June, at least 7 days between two contacts
    log = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D", "E", "E", "F", "ZZ"],
        "contact_date": ["2024-06-01",  # 7 days before: allowed
                         "2024-06-02",  # 6 days before: blocked
                         "2024-06-14",  # 6 days after (a planned send): blocked
                         "2024-06-15",  # 7 days after: allowed
                         "2024-05-01",  # long ago...
                         "2024-06-08T09:30",  # ...but also on the day itself: blocked
                         "2024-06-01 23:59",  # time of day ignored: 7 days, allowed
                         "2024-06-08"],  # not a customer of the table
        "channel": ["sms"] * 8,
    })
    audience = select_audience(TEN, name="t", contacts=log, min_days_between_contacts=7,
                               holdout=0)
    assert sorted(set(TEN.index) - set(audience.table.index)) == ["B", "C", "E"]
    row = audience.funnel.iloc[-1]
    assert (row["step"], row["removed"], row["remaining"]) == ("contacts", 3, 7)
    assert row["rule"] == "contacted fewer than 7 days from 2024-06-08 (4 of 8 log rows)"
    # an explicit date moves the reference day: on 15 June A (14 days) passes, D (0) not
    later = select_audience(TEN, name="t", contacts=log, min_days_between_contacts=7,
                            date="2024-06-15", holdout=0)
    assert sorted(set(TEN.index) - set(later.table.index)) == ["C", "D"]
    # datetime contact dates work the same
    typed = log.assign(contact_date=pd.to_datetime(log["contact_date"], format="ISO8601"))
    again = select_audience(TEN, name="t", contacts=typed, min_days_between_contacts=7,
                            holdout=0)
    assert again.table.index.equals(audience.table.index)


def test_contact_log_errors():
    with pytest.raises(InvalidParameterError, match="needs both 'contacts'"):
        select_audience(TEN, name="t", min_days_between_contacts=7)
    with pytest.raises(InvalidParameterError, match="needs both 'contacts'"):
        select_audience(TEN, name="t", contacts=pd.DataFrame({"customer_id": ["A"],
                                                              "contact_date": ["2024-01-01"]}))
    bad = pd.DataFrame({"customer_id": ["A", "B"], "contact_date": ["2024-06-01", "01/06/24"]})
    with pytest.raises(SchemaError, match=r"1 rows whose contact_date is missing or not an ISO "
                                          r"date \(first: '01/06/24'\)"):
        select_audience(TEN, name="t", contacts=bad, min_days_between_contacts=7)
    with pytest.raises(SchemaError, match="needs the column 'contact_date'"):
        select_audience(TEN, name="t", contacts=pd.DataFrame({"customer_id": ["A"],
                                                              "date": ["2024-01-01"]}),
                        min_days_between_contacts=7)


def test_label_filters_check_their_labels():
    with pytest.raises(InvalidParameterError, match=r"names 'high_recovry', which is not a "
                                                    r"lifecycle label.*Did you mean "
                                                    r"'high_recovery'\?"):
        select_audience(TEN, name="t", lifecycle="high_recovry")
    with pytest.raises(InvalidParameterError, match="'segments' parameter of select_audience "
                                                    "names 'At risk'"):
        select_audience(TEN, name="t", segments=["At risk"])
    with pytest.raises(SchemaError, match="needs the 'p_alive' column: analyze"):
        select_audience(TEN.drop(columns=["p_alive"]), name="t", min_p_alive=0.5)
    with pytest.raises(SchemaError, match="needs the 'tier' column"):
        select_audience(TEN.drop(columns=["tier"]), name="t", tiers="profitable")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": ""}, "'name' parameter of select_audience must be a non-empty text"),
    ({"name": "t", "holdout": 1.0}, r"'holdout' parameter .* Got 1.0 instead"),
    ({"name": "t", "holdout": -3}, r"'holdout' parameter .* Got -3 instead"),
    ({"name": "t", "holdout": True}, r"'holdout' parameter .* Got True instead"),
    ({"name": "t", "split": "random"}, r"'split' parameter of select_audience must be one of "
                                       r"\['stable', 'exact'\]"),
    ({"name": "t", "max_size": 0}, "'max_size' parameter of select_audience must be None or"),
    ({"name": "t", "min_p_alive": 1.5}, "'min_p_alive' parameter"),
    ({"name": "t", "channel": "pigeon"}, "no default cost for the channel 'pigeon'"),
    ({"name": "t", "cost_per_contact": -1}, "'cost_per_contact' parameter"),
    ({"name": "t", "date": "08/06/2024"}, "reads as 2024-06-08 .day first. or as 2024-08-06"),
    ({"name": "t", "passthrough": "name"}, "'passthrough' parameter of select_audience must"),
])
def test_parameter_errors(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        select_audience(TEN, **kwargs)


def test_table_errors():
    with pytest.raises(SchemaError, match="needs the customer ids as a 'customer_id' column"):
        select_audience(TEN.reset_index(drop=True), name="t")
    with pytest.raises(SchemaError, match="2 customer ids appear more than once"):
        select_audience(pd.concat([TEN, TEN.iloc[:2]]), name="t")
    floats = TEN.reset_index().assign(customer_id=np.arange(10) + 0.0)
    with pytest.raises(SchemaError, match="numbers with decimals"):
        select_audience(floats, name="t")
    with pytest.raises(SchemaError, match="needs the column 'segment'"):
        select_audience(TEN.drop(columns=["segment"]), name="t")
    with pytest.raises(InvalidParameterError, match="needs the campaign date"):
        no_date = TEN.copy()
        no_date.attrs = {}
        select_audience(no_date, name="t")
    with pytest.raises(InvalidParameterError, match="asks for 20 control customers but the "
                                                    "audience has 10"):
        select_audience(TEN, name="t", holdout=20)
    with pytest.raises(InvalidParameterError, match="must be an Analysis or a pandas DataFrame"):
        select_audience([1, 2], name="t")
    with pytest.raises(SchemaError, match=r"passthrough columns \['mobile'\] are not in"):
        select_audience(TEN, name="t", passthrough=["mobile"])


def test_input_is_not_modified_and_text_tables_work():
    before = TEN.copy()
    select_audience(TEN, name="t", lifecycle="high_recovery", where="frequency > 1")
    pd.testing.assert_frame_equal(TEN, before)
    # the customers table of an export: a column of ids, labels as plain text
    flat = TEN.reset_index().astype({"lifecycle": str, "segment": str, "tier": str})
    flat.attrs = {"as_of": "2024-06-08"}
    a = select_audience(flat, name="t", lifecycle="high_recovery", tiers="profitable")
    b = select_audience(TEN, name="t", lifecycle="high_recovery", tiers="profitable")
    assert a.table.index.equals(b.table.index)
    assert a.table["group"].equals(b.table["group"])


def test_templates_and_passthrough():
    named = TEN.assign(name=[f"N{i}" for i in range(10)], mobile=[f"138{i:08d}" for i in range(10)])
    audience = select_audience(named, name="t", lifecycle=["new", "active"], holdout=0,
                               template={"new": "SECOND", "active": "VIP"},
                               passthrough=["name", "mobile"])
    sent = audience.send_list()
    assert list(sent.columns) == ["customer_id", "name", "mobile", "label", "label_zh",
                                  "segment", "action", "action_zh", "template", "channel",
                                  "campaign"]
    assert sent.set_index("customer_id")["template"].to_dict() == {"F": "SECOND", "G": "VIP"}
    assert sent["mobile"].tolist() == ["13800000005", "13800000006"]
    with pytest.raises(InvalidParameterError, match=r"no template for the lifecycle labels "
                                                    r"\['active'\]"):
        select_audience(TEN, name="t", lifecycle=["new", "active"], template={"new": "X"})
    one = select_audience(TEN, name="t", template="ALL", holdout=0)
    assert set(one.table["template"]) == {"ALL"}


# --------------------------------------------------------------------------- cost
def test_cost_estimate_is_treatment_contacts_times_cost_per_contact():
    audience = select_audience(TEN, name="cost", holdout=3, split="exact")
    assert len(audience.treatment) == 7 and len(audience.control) == 3
    assert audience.cost == CampaignCost("sms", 7, 0.05, 0.35, "CHANNEL_COSTS")
    assert str(audience.cost) == "7 sms contacts x 0.05 = 0.35 (cost per contact from " \
                                 "CHANNEL_COSTS)"
    email = select_audience(TEN, name="cost", holdout=3, split="exact", channel="email")
    assert email.cost.total == pytest.approx(7 * CHANNEL_COSTS["email"])
    given = select_audience(TEN, name="cost", holdout=0, channel="pigeon", cost_per_contact=1.5)
    assert (given.cost.contacts, given.cost.total, given.cost.source) == (10, 15.0, "given")
    assigned = given.assignments()
    assert assigned["contact_cost"].sum() == pytest.approx(15.0)
    assert dict(CHANNEL_COSTS) == {"sms": 0.05, "email": 0.01, "push": 0.0, "wechat": 0.0}


# --------------------------------------------------------------------------- draws
def test_siphash_matches_the_published_test_vectors():
    # Aumasson & Bernstein (2012), appendix A: key 00..0f, message 00..0e -> a129ca6149be45e5;
    # the reference implementation's vectors.h: the empty message -> 726fdb47dd0e0e31.
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)),
                                                                      "little"))
    data = np.zeros((2, 15), dtype=np.uint8)
    data[0] = np.arange(15)
    out = siphash24(data, np.array([15, 0]), key)
    assert [int(x) for x in out] == [0xA129CA6149BE45E5, 0x726FDB47DD0E0E31]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=30))
def test_siphash_agrees_with_pandas_on_any_text(ids):
    # pandas' hash_object_array is SipHash-2-4 of the UTF-8 bytes with a 16-byte key
    from pandas._libs.hashing import hash_object_array

    key_text = "0123456789abcdef"
    key_bytes = key_text.encode()
    key = (int.from_bytes(key_bytes[:8], "little"), int.from_bytes(key_bytes[8:], "little"))
    values = np.array(ids, dtype=object)
    data, lengths = utf8_matrix(values)
    assert [bytes(data[i, :lengths[i]]) for i in range(len(ids))] == [s.encode() for s in ids]
    np.testing.assert_array_equal(siphash24(data, lengths, key),
                                  hash_object_array(values, key_text))


def test_draws_are_keyed_by_the_campaign_name():
    digest = hashlib.blake2b(b"spring", digest_size=16).digest()
    assert campaign_key("spring") == (int.from_bytes(digest[:8], "little"),
                                      int.from_bytes(digest[8:], "little"))
    ids = np.array([f"C{i}" for i in range(20000)], dtype=object)
    spring, summer = assignment_draws("spring", ids), assignment_draws("summer", ids)
    assert ((spring >= 0) & (spring < 1)).all()
    assert abs(spring.mean() - 0.5) < 0.01 and abs(np.corrcoef(spring, summer)[0, 1]) < 0.03
    # uniform: each tenth of [0, 1) holds about a tenth of the customers
    counts = np.bincount((spring * 10).astype(int), minlength=10)
    assert counts.min() > 1850 and counts.max() < 2150
    # independent of the order and of the company of other ids
    np.testing.assert_array_equal(assignment_draws("spring", ids[::-1])[::-1], spring)
    assert assignment_draws("spring", ids[5:6])[0] == spring[5]


# --------------------------------------------------------------------------- split
audience_ids = st.lists(st.text(alphabet="ABCDEFGHIJ0123456789-中", min_size=1, max_size=8),
                        min_size=1, max_size=60, unique=True)


def table_of(ids: list[str], labels: list[int]) -> pd.DataFrame:
    rows = [(i, ["high_recovery", "low_recovery", "cooling"][k % 3],
             ["At Risk", "Hibernating"][k % 2], 100 + k, 1 + k % 4, 10.0 * (k + 1))
            for i, k in zip(ids, labels, strict=True)]
    return customers(rows)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), holdout=st.floats(0.0, 0.95))
def test_stable_split_keeps_every_customers_group_on_a_superset(data, holdout):
    ids = data.draw(audience_ids, label="ids")
    extra = data.draw(st.lists(st.text(min_size=1, max_size=10), max_size=40, unique=True)
                      .map(lambda xs: [x for x in xs if x not in ids]), label="extra")
    labels = data.draw(st.lists(st.integers(0, 5), min_size=len(ids) + len(extra),
                                max_size=len(ids) + len(extra)), label="labels")
    small = table_of(ids, labels[:len(ids)])
    large = table_of(ids + extra, labels).sample(frac=1.0, random_state=1)  # any row order
    first = select_audience(small, name="superset", holdout=holdout)
    second = select_audience(large, name="superset", holdout=holdout)
    again = second.table["group"].reindex(first.table.index)
    assert again.equals(first.table["group"])
    # the group is the draw against the share, nothing else
    expected = np.where(first.table["draw"] < holdout, "control", "treatment")
    assert (first.table["group"].astype(str).to_numpy() == expected).all()


def test_exact_split_is_not_superset_stable_which_is_the_documented_trade_off():
    # one control customer: the lowest draw. Among 1,000 more customers one draws lower, and
    # the earlier control customer moves to treatment; the stable split would keep them.
    ids = [f"C{i}" for i in range(1010)]
    small, large = table_of(ids[:10], [0] * 10), table_of(ids, [0] * 1010)
    a = select_audience(small, name="trade-off", holdout=1, split="exact")
    b = select_audience(large, name="trade-off", holdout=1, split="exact")
    assert len(a.control) == len(b.control) == 1
    first = a.control.index[0]
    assert b.table.loc[first, "group"] == "treatment"
    assert b.control.index[0] not in a.table.index


def test_exact_split_gives_largest_remainder_quotas_filled_by_the_lowest_draws():
    # strata of 5, 3 and 2 customers, 3 controls: quotas 1.5, 0.9, 0.6 -> floors 1, 0, 0;
    # the two largest remainders (0.9, 0.6) get the two controls left -> 1, 1, 1
    strata = np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 2)
    draws = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.8, 0.2, 0.6, 0.4, 0.05])
    control = split(draws, strata, 3, "exact")
    assert control.tolist() == [False, True, False, False, False,
                                False, True, False, False, True]
    # a share: 10% of 10 = 1 control, to the largest quota (0.5 in stratum a)
    assert split(draws, strata, 0.1, "exact").tolist() == [
        False, True, False, False, False, False, False, False, False, False]
    # stable: below the share, whatever the stratum
    assert split(draws, strata, 0.25, "stable").tolist() == (draws < 0.25).tolist()


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 30), min_size=1, max_size=8),
       share=st.floats(0.0, 0.99), seed=st.integers(0, 2**31))
def test_exact_split_counts_against_a_naive_allocation(sizes, share, seed):
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(len(sizes)), sizes).astype(str)
    strata = np.char.add("s", np.char.zfill(strata, 2))
    draws = rng.uniform(size=len(strata))
    control = split(draws, strata, share, "exact")
    n = len(strata)
    total = int(np.floor(share * n + 0.5))
    assert control.sum() == total
    # naive Hamilton allocation of the control size, one stratum at a time
    quotas = [total * s / n for s in sizes]
    alloc = [int(np.floor(q)) for q in quotas]
    left = total - sum(alloc)
    by_remainder = sorted(range(len(sizes)), key=lambda k: (-(quotas[k] - alloc[k]), k))
    for k in by_remainder[:left]:
        alloc[k] += 1
    for k, name in enumerate(sorted(set(strata))):
        in_stratum = strata == name
        assert control[in_stratum].sum() == alloc[k]
        if 0 < alloc[k] < in_stratum.sum():  # the controls are the lowest draws
            assert draws[in_stratum & control].max() < draws[in_stratum & ~control].min()


def test_holdout_count_with_the_stable_split_is_a_share():
    audience = select_audience(TEN, name="t", holdout=3)
    expected = np.where(audience.table["draw"] < 0.3, "control", "treatment")
    assert (audience.table["group"].astype(str).to_numpy() == expected).all()


# --------------------------------------------------------------------------- balance
def test_balance_is_the_standardised_mean_difference():
    table = pd.DataFrame({"group": ["treatment"] * 3 + ["control"] * 3,
                          "x": [1.0, 2.0, 3.0, 2.0, 4.0, 6.0],
                          "y": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]})
    out = balance_table(table, ["x", "y"])
    # means 2 and 4, variances 1 and 4: smd = -2 / sqrt(2.5)
    assert out.loc["x"].tolist() == pytest.approx([2.0, 4.0, 1.0, 2.0, -2 / np.sqrt(2.5)])
    assert np.isnan(out.loc["y", "smd"])  # no spread: undefined, not 0 or inf
    assert list(out.columns) == ["mean_treatment", "mean_control", "sd_treatment",
                                 "sd_control", "smd"]


@pytest.fixture(scope="module")
def shop():
    with pytest.warns(UserWarning):
        return analyze(make_orders(3000, random_state=11), models=True)


def test_on_an_analysis_the_balance_and_strata_add_up(shop):
    audience = select_audience(shop, name="q1", holdout=0.2)
    assert audience.date == shop.as_of
    assert list(audience.balance.index) == ["recency_days", "frequency", "monetary_total",
                                            "p_alive"]
    groups = audience.table.groupby("group", observed=True)
    for covariate, row in audience.balance.iterrows():
        mean, sd = groups[covariate].mean(), groups[covariate].std()
        pooled = np.sqrt((sd["treatment"] ** 2 + sd["control"] ** 2) / 2)
        assert row["smd"] == pytest.approx((mean["treatment"] - mean["control"]) / pooled)
    strata = audience.strata
    assert strata["customers"].sum() == len(audience.table) == len(shop.customers)
    assert (strata["treatment"] + strata["control"]).equals(strata["customers"])
    assert strata["control"].sum() == len(audience.control)
    assert abs(len(audience.control) / len(audience.table) - 0.2) < 0.03
    assert list(audience.table.columns[-3:]) == ["p_alive", "expected_purchases", "clv"]
    # min_p_alive reads the model column; the rule says the value
    alive = select_audience(shop, name="q1", min_p_alive=0.5)
    assert (alive.table["p_alive"] >= 0.5).all()
    assert alive.table["why"].str.fullmatch(r"p_alive \d\.\d\d >= 0\.50").all()


def test_smd_across_campaign_names_is_centred_with_the_sampling_spread(shop):
    # over 40 campaign names, each covariate's smd averages ~0 with the sd of a random split,
    # sqrt(1/n_t + 1/n_c) (0.046 here): the draws are unrelated to the customers
    smds = np.array([select_audience(shop, name=f"n{k}", holdout=0.2).balance["smd"]
                     for k in range(40)])
    spread = np.sqrt(1 / 2400 + 1 / 600)
    assert np.abs(smds.mean(axis=0)).max() < 3 * spread / np.sqrt(40)
    assert ((smds.std(axis=0) > 0.6 * spread) & (smds.std(axis=0) < 1.5 * spread)).all()


def test_minimum_detectable_lift_before_sending(shop):
    audience = select_audience(shop, name="q1", holdout=0.2)
    n_t, n_c = len(audience.treatment), len(audience.control)
    expected = (1.959964 + 0.841621) * np.sqrt(0.05 * 0.95 * (1 / n_t + 1 / n_c))
    assert audience.minimum_detectable_lift(0.05) == pytest.approx(expected, rel=1e-5)
    none = select_audience(shop, name="q1", holdout=0)
    assert np.isnan(none.minimum_detectable_lift())
    assert "There is no control group: campaign_lift cannot measure this campaign." in none.notes
    with pytest.raises(InvalidParameterError, match="'base_rate' parameter"):
        audience.minimum_detectable_lift(0.0)


def test_views_render_text_and_html(shop):
    audience = select_audience(shop, name="<b>q1</b>", lifecycle="cooling",
                               exclude=["C0001"])
    text = str(audience)
    assert text.startswith(f"Audience '<b>q1</b>' for {shop.as_of.date()}: "
                           f"{len(audience.table):,} customers (")
    assert "Funnel (filters in the order they ran):" in text
    assert "lifecycle in ['cooling']" in text and "Cost: " in text
    html = audience._repr_html_()
    assert "&lt;b&gt;q1&lt;/b&gt;" in html and "<b>q1</b>" not in html
    assert html.count("<table>") == 2
