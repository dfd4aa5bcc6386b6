-- grain: one row per metric and day flagged in the latest anomaly slice, over its last 90 days, latest first
with

anomalies as (
    select * from analytics.metric_anomalies
),

latest as (
    select max(as_of) as as_of from anomalies
),

final as (
    select
        anomalies.metric,
        anomalies.date,
        anomalies.value,
        anomalies.expected,
        anomalies.direction
    from anomalies
    inner join latest on anomalies.as_of = latest.as_of
    where anomalies.date > latest.as_of - 90
)

select * from final
order by date desc, metric asc
