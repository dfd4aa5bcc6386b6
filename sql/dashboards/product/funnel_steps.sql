-- one row per funnel step: persons entering in the period who reached it, dropped, or are still in progress
with

steps as (
    select
        funnel,
        step,
        step_name,
        entered_users,
        eligible_users,
        in_progress_users,
        reached_users
    from analytics.funnel_conversion
    where
        true
        [[and cohort_month >= date_trunc('month', {{start_date}}::date)]]
        [[and cohort_month <= {{end_date}}::date]]
),

totals as (
    select
        funnel,
        step,
        step_name,
        sum(reached_users) as reached_users,
        sum(eligible_users) - sum(reached_users) as dropped_users,
        sum(in_progress_users) as in_progress_users
    from steps
    group by funnel, step, step_name
)

select
    funnel || ' ' || step || '. ' || step_name as step_label,
    reached_users,
    dropped_users,
    in_progress_users
from totals
order by funnel, step
