-- grain: one row per feature
-- key: feature
-- A read of core.agg_feature_users (one row per person per feature, kept by the core layer for the persons
-- each run changes; definitions: docs/metrics.md).
with

feature_users as (
    select
        user_id,
        feature,
        uses
    from core.agg_feature_users
),

-- the denominator: every person ever active (a track, page or screen event); uses by nobody count nowhere
active_users as (
    select count(distinct user_id) as active_users
    from core.fact_daily_user_activity
),

per_feature as (
    select
        feature,
        sum(uses) as total_uses,
        count(*) as unique_users
    from feature_users
    group by feature
),

final as (
    select
        per_feature.feature,
        per_feature.total_uses::bigint as total_uses,
        per_feature.unique_users::integer as unique_users,
        round(per_feature.unique_users::numeric / nullif(active_users.active_users, 0), 6) as adoption_rate
    from per_feature
    cross join active_users
)

select * from final
