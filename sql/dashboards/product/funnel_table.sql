-- one row per funnel, entry month and step, as analytics.funnel_conversion defines them
select
    funnel,
    cohort_month,
    step,
    step_name,
    entered_users,
    eligible_users,
    in_progress_users,
    reached_users,
    conversion_rate,
    step_conversion_rate,
    round(median_seconds_to_step / 3600, 2) as median_hours_to_step
from analytics.funnel_conversion
where
    true
    [[and cohort_month >= date_trunc('month', {{start_date}}::date)]]
    [[and cohort_month <= {{end_date}}::date]]
order by funnel, cohort_month, step
