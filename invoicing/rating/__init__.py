"""The rating engine: charges and usage in, document lines out.

Pure Python (standard library, babel, and the Django-free core.money and core.tiers): no Django,
no clock, no database. tests/core/test_layers.py fails if any of them imports Django.
"""
