"""The variance review of a bill run (DESIGN §11), its *Review* tab and export.

- selectors: the rules and the flagged documents, a page or all of them (the rules are in its
  docstring and in docs/decisions.md, "Variance review (issue 16)").
- services: the run's threshold; forms: its form.
- export: the rows of the CSV and XLSX.
- views, urls: the threshold form's POST and the export, under /bill-runs/ ("review" namespace).
"""
