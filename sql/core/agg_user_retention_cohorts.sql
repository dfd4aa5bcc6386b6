-- grain: one row per activity month per signup cohort month (at or before it) with a member active in it
-- A month's counts change when a person's activity in it changes (daily_activity_touched, as the
-- fact_daily_user_activity step found it) or when a person's signup moves (a signed_up event of theirs
-- arrived or left: every month they are active in). Those months are recounted from their person-days
-- (core.fact_daily_user_activity by date) and the persons' signups (core.dim_users); every month while
-- core.aggregate_backfills asks for it.
create temp table retention_months_touched on commit drop as

with

-- persons whose signup (so their cohort) this run may have moved
signup_moved as (
    select user_id
    from core_changes
    where event_name = 'signed_up' and user_id is not null
    union
    select previous_user_id as user_id
    from core_changes
    where event_name = 'signed_up' and previous_user_id is not null
),

bounds as (
    select
        min(activity_date) as first_day,
        max(activity_date) as last_day
    from core.fact_daily_user_activity
    where core.backfill_requested('agg_user_retention_cohorts')
),

final as (
    select distinct date_trunc('month', event_date)::date as activity_month
    from daily_activity_touched
    union
    select distinct date_trunc('month', activity.activity_date)::date as activity_month
    from signup_moved
    inner join core.fact_daily_user_activity as activity on signup_moved.user_id = activity.user_id
    union
    select months.activity_month::date as activity_month
    from bounds
    cross join
        lateral generate_series(date_trunc('month', bounds.first_day), bounds.last_day, interval '1 month')
            as months (activity_month)
)

select * from final;

analyze retention_months_touched;

delete from core.agg_user_retention_cohorts as cohorts
using retention_months_touched as touched
where cohorts.activity_month = touched.activity_month;

delete from core.agg_user_retention_cohorts
where core.backfill_requested('agg_user_retention_cohorts');

insert into core.agg_user_retention_cohorts (activity_month, cohort_month, retained_users)

with

-- the persons active in each touched month (its person-days, through the activity_date index)
active as (
    select distinct
        touched.activity_month,
        activity.user_id
    from retention_months_touched as touched
    inner join core.fact_daily_user_activity as activity
        on
            touched.activity_month <= activity.activity_date
            and activity.activity_date < (touched.activity_month + interval '1 month')::date
),

members as (
    select
        active.activity_month,
        date_trunc('month', users.signup_date)::date as cohort_month
    from active
    inner join core.dim_users as users on active.user_id = users.user_id
    where users.signup_date is not null
),

final as (
    select
        activity_month,
        cohort_month,
        count(*) as retained_users
    from members
    where activity_month >= cohort_month
    group by activity_month, cohort_month
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_user_retention_cohorts';
