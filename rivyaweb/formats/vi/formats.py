"""Vietnamese formats beyond Django's own (``django/conf/locale/vi/formats.py``).

Django's Vietnamese locale names "." as the thousands separator but sets no grouping, so
10000 credits would read "10000". With grouping of three, numbers formatted with grouping
(``floatformat:"g"``, ``number_format(..., force_grouping=True)``) read "10.000".
A date and time reads "07:06, ngày 30 tháng 11 năm 2026": Django's own puts a capital
"Ngày" after the time, mid-phrase. Everything else falls through to Django's module.
"""

NUMBER_GROUPING = 3
DATETIME_FORMAT = r"H:i, \n\g\à\y d \t\h\á\n\g n \n\ă\m Y"
