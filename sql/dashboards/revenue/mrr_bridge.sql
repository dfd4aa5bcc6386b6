-- one row per step of the MRR bridge of the latest month in the period: MRR at the start, then each
-- movement (losses negative); the waterfall's total is the MRR at the month's end
with

months as (
    select
        month,
        coalesce(lag(mrr) over (order by month), 0) as start_mrr,
        new_mrr,
        reactivation_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr - churned_mrr_involuntary as churned_voluntary_mrr,
        churned_mrr_involuntary
    from analytics.mrr_monthly
),

latest as (
    select *
    from months
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
    order by month desc
    limit 1
),

final as (
    select
        latest.month,
        steps.step_order,
        steps.step,
        steps.amount
    from latest
    cross join lateral (
        values
        (1, 'Start (' || to_char(latest.month - interval '1 month', 'YYYY-MM') || ')', latest.start_mrr),
        (2, 'New', latest.new_mrr),
        (3, 'Reactivation', latest.reactivation_mrr),
        (4, 'Expansion', latest.expansion_mrr),
        (5, 'Contraction', -latest.contraction_mrr),
        (6, 'Churned (voluntary)', -latest.churned_voluntary_mrr),
        (7, 'Churned (involuntary)', -latest.churned_mrr_involuntary)
    ) as steps (step_order, step, amount)
)

select
    step,
    amount,
    month
from final
order by step_order
