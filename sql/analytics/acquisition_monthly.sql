-- grain: one row per signup month (first to last with signups) per acquisition channel
-- key: signup_month, channel
with

-- signups, activated and paid persons per signup month and channel, as the core layer keeps them
-- (sql/core/agg_acquisition_monthly.sql: the definitions)
per_month as (
    select
        signup_month,
        channel,
        signups,
        activated_users,
        paid_users
    from core.agg_acquisition_monthly
),

bounds as (
    select
        min(signup_month) as first_month,
        max(signup_month) as last_month
    from per_month
),

channels as (
    select distinct channel
    from per_month
),

-- every channel in every month, quiet ones with zeros
grid as (
    select
        months.signup_month::date as signup_month,
        channels.channel
    from bounds
    cross join
        lateral generate_series(
            bounds.first_month::timestamp, bounds.last_month::timestamp, interval '1 month'
        ) as months (signup_month)
    cross join channels
),

final as (
    select
        grid.signup_month,
        grid.channel,
        coalesce(per_month.signups, 0)::integer as signups,
        coalesce(per_month.activated_users, 0)::integer as activated_users,
        coalesce(per_month.paid_users, 0)::integer as paid_users,
        round(per_month.activated_users::numeric / nullif(per_month.signups, 0), 6) as activation_rate,
        round(per_month.paid_users::numeric / nullif(per_month.signups, 0), 6) as paid_conversion_rate
    from grid
    left join per_month on grid.signup_month = per_month.signup_month and grid.channel = per_month.channel
)

select * from final
