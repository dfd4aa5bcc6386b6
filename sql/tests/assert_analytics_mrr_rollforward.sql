-- MRR at start + movements = MRR at end, every month; arr = 12 x mrr
with

months as (
    select
        *,
        coalesce(lag(mrr) over (order by month), 0) as previous_mrr
    from analytics.mrr_monthly
),

final as (
    select *
    from months
    where
        mrr - previous_mrr <> new_mrr + reactivation_mrr + expansion_mrr - contraction_mrr - churned_mrr
        or arr <> 12 * mrr
        or least(new_mrr, reactivation_mrr, expansion_mrr, contraction_mrr, churned_mrr) < 0
)

select * from final
