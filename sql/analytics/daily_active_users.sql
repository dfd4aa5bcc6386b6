-- grain: one row per UTC day, from the first to the latest day with activity (quiet days included)
-- key: activity_date
-- kind: view
-- A thin read of core.agg_daily_active_users, which the core layer keeps for the days each run changes
-- (definitions: docs/metrics.md, computed in sql/core/agg_daily_active_users.sql).
with

daily as (
    select
        activity_date,
        dau,
        wau,
        mau,
        stickiness
    from core.agg_daily_active_users
),

final as (
    select * from daily
)

select * from final
