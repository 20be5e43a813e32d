"""The drill report: a pytest plugin that collects drill results on the controller and writes `reports/<run-id>/`.

`model` holds the data model and the verdicts, `collect` turns pytest reports into check records, `render_md` and
`render_html` are pure functions of the JSON report, `files` writes atomically, `merge` combines shard reports.
"""
