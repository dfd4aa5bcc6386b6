-- every month: MRR at the start + new + reactivation + expansion - contraction - churned = MRR at the end,
-- net_new_mrr is that sum, and the start is the month before's end (0 before the first month)
with

months as (
    select
        *,
        coalesce(lag(mrr) over (order by month), 0) as start_mrr
    from analytics.mrr_monthly
),

final as (
    select
        month,
        start_mrr,
        new_mrr,
        reactivation_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        mrr
    from months
    where
        start_mrr + new_mrr + reactivation_mrr + expansion_mrr - contraction_mrr - churned_mrr <> mrr
        or net_new_mrr <> new_mrr + reactivation_mrr + expansion_mrr - contraction_mrr - churned_mrr
)

select * from final
