-- grain: one row: total MRR (currency) of the month containing %(as_of)s, from the one revenue model
-- (core.fact_mrr_monthly: each person's MRR at the month's end, valued at the latest data; = mrr_monthly.mrr)
with

person_months as (
    select
        month,
        mrr_cents
    from core.fact_mrr_monthly
),

final as (
    select coalesce(sum(mrr_cents), 0) / 100.0 as total_mrr
    from person_months
    where month = date_trunc('month', %(as_of)s::date)::date
)

select * from final
