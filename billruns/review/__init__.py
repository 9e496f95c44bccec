"""The variance review of a bill run (DESIGN §11), its *Review* tab and export.

- models: the facts prepared once per run (ReviewEntry, one per document) and where the run's
  preparation stands (ReviewPreparation).
- selectors: the rules and the flagged documents, a page or all of them, read from the prepared
  facts (the rules are in its docstring and in docs/decisions.md, "Variance review (issue 16)").
- services: the run's threshold; asking for and filling a run's preparation (a django-q2 task,
  billruns.tasks.prepare_review). forms: the threshold's form.
- export: the rows of the CSV and XLSX.
- views, urls: the threshold form's POST, the export and the poll of a review being prepared,
  under /bill-runs/ ("review" namespace).
"""
