-- grain: one row per month, from the first subscription event's month to the latest month with activity
-- key: month
-- A thin read of core.agg_mrr_monthly, the month sums of core.fact_mrr_monthly (one row per person per month)
-- that the core layer recounts for the months each run changes; definitions in docs/metrics.md.
with

-- the month sums and counts core keeps (sql/core/agg_mrr_monthly.sql), one row per month with a person row
monthly as (
    select
        month,
        mrr_cents,
        start_cents,
        customers,
        customers_start,
        new_cents,
        reactivation_cents,
        expansion_cents,
        contraction_cents,
        churned_cents,
        churned_involuntary_cents,
        new_customers,
        reactivated_customers,
        churned_customers
    from core.agg_mrr_monthly
),

bounds as (
    select
        min(month) as first_month,
        max(month) as last_month
    from monthly
),

months as (
    select generate_series(first_month, last_month, interval '1 month')::date as month
    from bounds
),

-- quiet months are zeros
filled as (
    select
        months.month,
        coalesce(monthly.mrr_cents, 0) as mrr_cents,
        coalesce(monthly.start_cents, 0) as start_cents,
        coalesce(monthly.customers, 0) as customers,
        coalesce(monthly.customers_start, 0) as customers_start,
        coalesce(monthly.new_cents, 0) as new_cents,
        coalesce(monthly.reactivation_cents, 0) as reactivation_cents,
        coalesce(monthly.expansion_cents, 0) as expansion_cents,
        coalesce(monthly.contraction_cents, 0) as contraction_cents,
        coalesce(monthly.churned_cents, 0) as churned_cents,
        coalesce(monthly.churned_involuntary_cents, 0) as churned_involuntary_cents,
        coalesce(monthly.new_customers, 0) as new_customers,
        coalesce(monthly.reactivated_customers, 0) as reactivated_customers,
        coalesce(monthly.churned_customers, 0) as churned_customers
    from months
    left join monthly on months.month = monthly.month
),

-- LTV's churn rate c pools months m-5 .. m (those that exist)
with_ltv_window as (
    select
        *,
        sum(churned_customers) over six_months as churned_customers_6m,
        sum(customers_start) over six_months as customers_start_6m
    from filled
    window six_months as (order by month rows between 5 preceding and current row)
),

final as (
    select
        month,
        (mrr_cents / 100.0)::numeric(14, 2) as mrr,
        (mrr_cents * 12 / 100.0)::numeric(14, 2) as arr,
        customers::integer as customers,
        (new_cents / 100.0)::numeric(14, 2) as new_mrr,
        (expansion_cents / 100.0)::numeric(14, 2) as expansion_mrr,
        (contraction_cents / 100.0)::numeric(14, 2) as contraction_mrr,
        (churned_cents / 100.0)::numeric(14, 2) as churned_mrr,
        (reactivation_cents / 100.0)::numeric(14, 2) as reactivation_mrr,
        ((new_cents + reactivation_cents + expansion_cents - contraction_cents - churned_cents) / 100.0)::numeric(
            14, 2
        ) as net_new_mrr,
        (churned_involuntary_cents / 100.0)::numeric(14, 2) as churned_mrr_involuntary,
        customers_start::integer as customers_start,
        new_customers::integer as new_customers,
        reactivated_customers::integer as reactivated_customers,
        churned_customers::integer as churned_customers,
        round(churned_customers::numeric / nullif(customers_start, 0), 6) as customer_churn_rate,
        round((start_cents - contraction_cents - churned_cents)::numeric / nullif(start_cents, 0), 6) as grr,
        round(
            (start_cents + expansion_cents - contraction_cents - churned_cents)::numeric / nullif(start_cents, 0), 6
        ) as nrr,
        round(
            (new_cents + reactivation_cents + expansion_cents)::numeric / nullif(contraction_cents + churned_cents, 0),
            6
        ) as quick_ratio,
        round(mrr_cents::numeric / nullif(customers * 100, 0), 2)::numeric(14, 2) as arpa,
        -- ltv = arpa / c with c = churned_customers_6m / customers_start_6m, as one exact division; null when
        -- nobody churned in the window (c = 0; a churned customer implies customers_start_6m > 0) or no customers
        round(
            mrr_cents::numeric * customers_start_6m / nullif(customers * churned_customers_6m * 100, 0), 2
        )::numeric(14, 2) as ltv
    from with_ltv_window
)

select * from final
