-- one row per first-paid-month cohort and month since: the share of the cohort's customers kept (logo retention)
with

cohorts as (
    select
        cohort_month,
        months_since_first_paid,
        cohort_customers,
        logo_retention
    from analytics.revenue_retention_cohorts
    where
        true
        [[and cohort_month >= date_trunc('month', {{start_date}}::date)]]
        [[and cohort_month <= {{end_date}}::date]]
),

final as (
    select
        cohort_month,
        months_since_first_paid,
        logo_retention,
        to_char(cohort_month, 'YYYY-MM') || ' (' || cohort_customers || ' customers)' as cohort
    from cohorts
)

select
    cohort,
    months_since_first_paid,
    logo_retention
from final
order by cohort_month, months_since_first_paid
