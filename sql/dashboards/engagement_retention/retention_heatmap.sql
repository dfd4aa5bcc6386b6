-- one row per cohort and month since sign-up: the share of the cohort active that month
with

cohorts as (
    select
        cohort_month,
        months_since_signup,
        cohort_size,
        retention_rate,
        is_complete
    from analytics.user_retention_cohorts
    where
        true
        [[and cohort_month >= date_trunc('month', {{start_date}}::date)]]
        [[and cohort_month <= {{end_date}}::date]]
),

final as (
    select
        cohort_month,
        months_since_signup,
        retention_rate,
        is_complete,
        to_char(cohort_month, 'YYYY-MM') || ' (' || cohort_size || ' users)' as cohort
    from cohorts
)

select
    cohort,
    months_since_signup,
    retention_rate,
    -- false: the month has not ended yet (an immature cell, drawn differently)
    is_complete
from final
order by cohort_month, months_since_signup
