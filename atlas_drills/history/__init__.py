"""Reading drill runs together: the history of a report folder (a table and one HTML page) and the Prometheus
textfile every run writes. Everything here is a pure function of `drill-report.json` documents; only `runs.load_runs`
touches the file system, and only to read."""
