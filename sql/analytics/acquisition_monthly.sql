-- grain: one row per signup month (first to last with signups) per acquisition channel
-- key: signup_month, channel
with

signups as (
    select
        user_id,
        signup_at,
        date_trunc('month', signup_date::timestamp)::date as signup_month,
        coalesce(acquisition_channel, 'unknown') as channel
    from core.dim_users
    where signup_at is not null
),

-- activated = reached the last step of the `activation` funnel (sql/funnels.yml)
activation_last_step as (
    select max(step) as step
    from core.funnel_steps
    where funnel = 'activation'
),

activated as (
    select distinct progress.user_id
    from analytics.funnel_user_steps as progress
    inner join activation_last_step on progress.step = activation_last_step.step
    where progress.funnel = 'activation'
),

-- paid = a subscription event leaving MRR > 0 within 30 days after the signup
converted as (
    select distinct signups.user_id
    from signups
    inner join core.fact_subscription_events as subscriptions
        on
            signups.user_id = subscriptions.user_id
            and signups.signup_at <= subscriptions.event_at
            and subscriptions.event_at <= signups.signup_at + interval '30 days'
    where subscriptions.mrr_cents > 0
),

per_month as (
    select
        signups.signup_month,
        signups.channel,
        count(*) as signups,
        count(activated.user_id) as activated_users,
        count(converted.user_id) as paid_users
    from signups
    left join activated on signups.user_id = activated.user_id
    left join converted on signups.user_id = converted.user_id
    group by signups.signup_month, signups.channel
),

bounds as (
    select
        min(signup_month) as first_month,
        max(signup_month) as last_month
    from signups
),

channels as (
    select distinct channel
    from signups
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
