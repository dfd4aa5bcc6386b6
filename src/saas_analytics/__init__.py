"""SaaS analytics warehouse: events → raw → staging → core → analytics, orchestrated by Airflow."""

__version__ = "0.1.0"
