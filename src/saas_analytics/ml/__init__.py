"""Machine learning on the warehouse: churn risk, behavioural segments, KPI anomalies and insights.

Every output is computed from `core` by small, typed, DataFrame-in/DataFrame-out functions and written
back to `analytics` by `saas_analytics.ml.tasks` (one transaction per output, one slice per `as_of`).
"""
