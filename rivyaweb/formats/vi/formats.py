"""Vietnamese number formats beyond Django's own (``django/conf/locale/vi/formats.py``).

Django's Vietnamese locale names "." as the thousands separator but sets no grouping, so
10000 credits would read "10000". With grouping of three, numbers formatted with grouping
(``floatformat:"g"``, ``number_format(..., force_grouping=True)``) read "10.000".
Everything else falls through to Django's module.
"""

NUMBER_GROUPING = 3
