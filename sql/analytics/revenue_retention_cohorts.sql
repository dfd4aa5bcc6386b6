-- grain: one row per first-paid-month cohort per month since then, to the latest month of mrr_monthly
-- key: cohort_month, months_since_first_paid
-- Cohort = the persons whose first month-end as a customer is cohort_month (core.fact_mrr_monthly).
with

-- the cohort-month sums core keeps (sql/core/agg_revenue_retention_cohorts.sql); every member has a row for
-- every month from the cohort month to the latest month
cohort_months as (
    select
        cohort_month,
        (
            (extract(year from month) - extract(year from cohort_month)) * 12
            + extract(month from month) - extract(month from cohort_month)
        )::integer as months_since_first_paid,
        active_customers,
        mrr_cents
    from core.agg_revenue_retention_cohorts
),

with_start as (
    select
        *,
        first_value(active_customers) over by_offset as cohort_customers,
        first_value(mrr_cents) over by_offset as starting_mrr_cents
    from cohort_months
    window by_offset as (partition by cohort_month order by months_since_first_paid)
),

final as (
    select
        cohort_month,
        months_since_first_paid,
        cohort_customers::integer as cohort_customers,
        (starting_mrr_cents / 100.0)::numeric(14, 2) as starting_mrr,
        active_customers::integer as active_customers,
        (mrr_cents / 100.0)::numeric(14, 2) as mrr,
        round(active_customers::numeric / nullif(cohort_customers, 0), 6) as logo_retention,
        round(mrr_cents::numeric / nullif(starting_mrr_cents, 0), 6) as revenue_retention
    from with_start
)

select * from final
