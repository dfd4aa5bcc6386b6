-- grain: one row per metric and day flagged as anomalous in the slice %(as_of)s
with

anomalies as (
    select
        metric,
        date,
        value,
        expected,
        score,
        direction
    from analytics.metric_anomalies
    where as_of = %(as_of)s
)

select * from anomalies
