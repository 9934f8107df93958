"""Files whose columns are found from the header: ``columns="auto"``.

* ``columns_auto_shop.csv``: a Chinese shop back-end's order export (UTF-8 with a
  BOM, as Excel's "CSV UTF-8" writes it) with the export's own headers
  (订单编号, 买家会员名, 下单时间, 实付金额, 订单状态) among columns no role takes
  (收货人姓名, 联系手机, 宝贝标题), and the statuses 交易成功 / 交易关闭 / 等待买家付款;
* ``columns_auto_two_dates.csv``: the same export with both 下单时间 and 付款时间,
  two headers for the date: refused, naming both;
* ``columns_auto_online_retail.csv``: the UCI Online Retail headers (amount =
  Quantity x UnitPrice, StockCode as the product);
* ``columns_auto_no_amount.csv``: an export without any amount header.
"""

from __future__ import annotations

from collections.abc import Callable

SHOP_HEADER = ["订单编号", "买家会员名", "收货人姓名", "联系手机", "宝贝标题", "下单时间",
               "实付金额", "订单状态"]
SHOP_ROWS = [
    ["202403010001", "tb_小王", "王伟", "138****0001", "保温杯", "2024-03-01 10:02:11", "128.00",
     "交易成功"],
    ["202403020002", "tb_小李", "李娜", "139****0002", "帆布包", "2024-03-02 21:15:40", "59.90",
     "交易成功"],
    ["202403030003", "tb_小王", "王伟", "138****0001", "茶叶礼盒", "2024-03-03 08:30:00", "268.00",
     "交易关闭"],
    ["202403050004", "tb_小张", "张敏", "137****0003", "保温杯", "2024-03-05 12:00:05", "128.00",
     "等待买家付款"],
    ["202403080005", "tb_小王", "王伟", "138****0001", "帆布包", "2024-03-08 19:45:12", "59.90",
     "交易成功"],
    ["202403090006", "tb_小李", "李娜", "139****0002", "茶叶礼盒", "2024-03-09 09:09:09", "268.00",
     "交易成功"],
]


def _csv(header: list[str], rows: list[list[str]], *, bom: bool = True) -> bytes:
    text = "\r\n".join(",".join(row) for row in [header, *rows]) + "\r\n"
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")


def shop() -> bytes:
    return _csv(SHOP_HEADER, SHOP_ROWS)


def two_dates() -> bytes:
    header = [*SHOP_HEADER[:6], "付款时间", *SHOP_HEADER[6:]]
    rows = [[*row[:6], row[5], *row[6:]] for row in SHOP_ROWS]
    return _csv(header, rows)


def online_retail() -> bytes:
    header = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
              "CustomerID", "Country"]
    rows = [
        ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6", "2010-12-01 08:26",
         "2.55", "17850", "United Kingdom"],
        ["536365", "71053", "WHITE METAL LANTERN", "6", "2010-12-01 08:26", "3.39", "17850",
         "United Kingdom"],
        ["536366", "22633", "HAND WARMER UNION JACK", "6", "2010-12-01 08:28", "1.85", "17850",
         "United Kingdom"],
        ["536367", "84879", "ASSORTED COLOUR BIRD ORNAMENT", "32", "2010-12-01 08:34", "1.69",
         "13047", "United Kingdom"],
        ["C536379", "D", "Discount", "-1", "2010-12-01 09:41", "27.50", "14527",
         "United Kingdom"],
        ["536381", "22719", "GUMBALL MONOCHROME COAT RACK", "36", "2010-12-01 09:41", "1.06",
         "14527", "United Kingdom"],
    ]
    return _csv(header, rows, bom=False)


def no_amount() -> bytes:
    header = ["订单编号", "买家会员名", "下单时间", "订单状态"]
    rows = [[r[0], r[1], r[5], r[7]] for r in SHOP_ROWS]
    return _csv(header, rows)


FILES: dict[str, Callable[[], bytes]] = {
    "columns_auto_shop.csv": shop,
    "columns_auto_two_dates.csv": two_dates,
    "columns_auto_online_retail.csv": online_retail,
    "columns_auto_no_amount.csv": no_amount,
}
