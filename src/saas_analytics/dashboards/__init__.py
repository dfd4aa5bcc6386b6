"""Dashboards as code: definitions in `sql/dashboards/`, a Metabase provisioner and an offline HTML report."""
