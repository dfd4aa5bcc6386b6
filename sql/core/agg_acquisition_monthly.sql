-- grain: one row per signup month per acquisition channel with at least one signup
-- Definitions: docs/metrics.md (Acquisition). A month is recounted from core.dim_users (its signups),
-- core.agg_funnel_user_steps (activated) and core.fact_subscription_events (paid) when one of its persons had
-- a signed_up or subscription event change or was rebuilt in the activation funnel, when a person
-- left it (its signups per channel no longer match core.dim_users: one pass over the persons, no events),
-- when the activation funnel was redefined, and every month while core.aggregate_backfills asks for it.
create temp table acquisition_months_touched on commit drop as

with

signups as (
    select
        user_id,
        date_trunc('month', signup_date::timestamp)::date as signup_month,
        coalesce(acquisition_channel, 'unknown') as channel
    from core.dim_users
    where signup_at is not null
),

-- persons whose signup (and channel) or subscriptions a change reached, or whose activation funnel
-- progress agg_funnel_user_steps rebuilt (run before this step)
changed_persons as (
    select user_id
    from core_changes
    where
        user_id is not null
        and event_name in ('signed_up', 'subscription_started', 'subscription_changed', 'subscription_cancelled')
    union
    select previous_user_id as user_id
    from core_changes
    where
        previous_user_id is not null
        and event_name in ('signed_up', 'subscription_started', 'subscription_changed', 'subscription_cancelled')
    union
    select touched.user_id
    from funnel_persons_touched as touched
    where touched.funnel = 'activation'
),

named as (
    select signups.signup_month
    from signups
    inner join changed_persons on signups.user_id = changed_persons.user_id
),

counted as (
    select
        signup_month,
        channel,
        count(*) as signups
    from signups
    group by signup_month, channel
),

-- a person who left a month (their signup moved or went) leaves its count short
mismatched as (
    select coalesce(counted.signup_month, built.signup_month) as signup_month
    from counted
    full join core.agg_acquisition_monthly as built
        on counted.signup_month = built.signup_month and counted.channel = built.channel
    where counted.signups is distinct from built.signups
),

-- every month when the activation funnel was rebuilt whole (agg_funnel_user_steps, run before this step)
everything as (
    select signups.signup_month
    from signups
    where
        core.backfill_requested('agg_acquisition_monthly')
        or 'activation' in (select redefined.funnel from funnels_redefined as redefined)
),

final as (
    select signup_month from named
    union
    select signup_month from mismatched
    union
    select signup_month from everything
)

select * from final;

analyze acquisition_months_touched;

delete from core.agg_acquisition_monthly as acquisition
using acquisition_months_touched as touched
where acquisition.signup_month = touched.signup_month;

delete from core.agg_acquisition_monthly
where core.backfill_requested('agg_acquisition_monthly');

insert into core.agg_acquisition_monthly (signup_month, channel, signups, activated_users, paid_users)

with

signups as (
    select
        users.user_id,
        users.signup_at,
        touched.signup_month,
        coalesce(users.acquisition_channel, 'unknown') as channel
    from core.dim_users as users
    inner join acquisition_months_touched as touched
        on date_trunc('month', users.signup_date::timestamp)::date = touched.signup_month
    where users.signup_at is not null
),

-- activated = reached the last step of the `activation` funnel (sql/funnels.yml)
activation_last_step as (
    select max(step) as step
    from core.funnel_steps
    where funnel = 'activation'
),

activated as (
    select distinct progress.user_id
    from signups
    inner join core.agg_funnel_user_steps as progress on signups.user_id = progress.user_id
    inner join activation_last_step on progress.step = activation_last_step.step
    where progress.funnel = 'activation'
),

-- paid = a subscription event leaving MRR > 0 within 30 days (720 hours: elapsed time, whatever the session
-- time zone's daylight saving) after the signup
converted as (
    select distinct signups.user_id
    from signups
    inner join core.fact_subscription_events as subscriptions
        on
            signups.user_id = subscriptions.user_id
            and signups.signup_at <= subscriptions.event_at
            and subscriptions.event_at <= signups.signup_at + interval '720 hours'
    where subscriptions.mrr_cents > 0
),

final as (
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
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_acquisition_monthly';
