-- grain: one row per feature
-- key: feature
with

feature_uses as (
    select
        user_id,
        feature
    from core.fact_events
    where event_type = 'track' and event_name = 'feature_used' and user_id is not null
),

-- the denominator: every person ever active (a track, page or screen event); uses by nobody count nowhere
active_users as (
    select count(distinct user_id) as active_users
    from core.fact_daily_user_activity
),

per_feature as (
    select
        feature,
        count(*) as total_uses,
        count(distinct user_id) as unique_users
    from feature_uses
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
