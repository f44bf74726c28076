"""Read-only reports over the Web API log and the catalogue. Every figure is aggregated by the
database (window functions and GROUP BY over indexed ranges); Python only touches the
aggregated rows (at most one per time bucket or per key), never the log rows themselves."""
