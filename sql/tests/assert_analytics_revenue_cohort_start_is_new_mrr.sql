-- a revenue cohort at offset 0 is that month's new customers: its MRR = new_mrr, its size = new_customers
with

starts as (
    select
        cohort_month as month,
        cohort_customers,
        mrr
    from analytics.revenue_retention_cohorts
    where months_since_first_paid = 0
),

news as (
    select
        month,
        new_customers,
        new_mrr
    from analytics.mrr_monthly
    where new_customers > 0
),

final as (
    select
        coalesce(starts.month, news.month) as month,
        starts.cohort_customers,
        news.new_customers,
        starts.mrr as cohort_start_mrr,
        news.new_mrr
    from starts
    full outer join news on starts.month = news.month
    where
        starts.mrr is distinct from news.new_mrr
        or starts.cohort_customers is distinct from news.new_customers
)

select * from final
