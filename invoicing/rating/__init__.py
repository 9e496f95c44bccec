"""The rating engine: charges and usage in, document lines out.

Pure Python (standard library and babel only): no Django, no clock, no database. A test fails
if any module here imports Django.
"""
