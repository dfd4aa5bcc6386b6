-- grain: one row per month per first-paid-month cohort (at or before it) with a member row in core.fact_mrr_monthly
-- The months agg_mrr_monthly recounts (mrr_months_touched: from the earliest month this run's changes reach
-- on) are recounted here too, from core.fact_mrr_monthly; every month while core.aggregate_backfills asks.
create temp table revenue_months_touched on commit drop as
select
    case
        when core.backfill_requested('agg_revenue_retention_cohorts') then '-infinity'::date
        else touched.recount_from
    end as recount_from
from mrr_months_touched as touched;

analyze revenue_months_touched;

delete from core.agg_revenue_retention_cohorts as cohorts
using revenue_months_touched as touched
where cohorts.month >= touched.recount_from;

insert into core.agg_revenue_retention_cohorts (month, cohort_month, active_customers, mrr_cents)

with

-- a cohort's members are the persons whose first month-end as a customer is cohort_month
members as (
    select
        person_months.month,
        person_months.first_paid_month as cohort_month,
        person_months.mrr_cents
    from core.fact_mrr_monthly as person_months
    inner join revenue_months_touched as touched on person_months.month >= touched.recount_from
    where person_months.first_paid_month is not null and person_months.month >= person_months.first_paid_month
),

final as (
    select
        month,
        cohort_month,
        count(*) filter (where mrr_cents > 0) as active_customers,
        sum(mrr_cents) as mrr_cents
    from members
    group by month, cohort_month
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_revenue_retention_cohorts';
