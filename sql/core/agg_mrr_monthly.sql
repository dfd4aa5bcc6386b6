-- grain: one row per month with a row in core.fact_mrr_monthly: that month's sums and counts (docs/metrics.md)
-- fact_mrr_monthly changes a person's months from the month of a changed subscription event on, adds months
-- when the latest month advances and drops months past it: the months from the earliest of these on are
-- recounted from core.fact_mrr_monthly (through its month index); every month while core.aggregate_backfills
-- asks for it, or when mrr_changes rebuilt persons no change named (its own catch-up).
create temp table mrr_months_touched on commit drop as

with

changes as (
    select
        user_id,
        previous_user_id,
        event_at
    from core_changes
    where event_name in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
),

changed as (
    select min(date_trunc('month', event_at at time zone 'UTC'))::date as changed_from
    from changes
),

-- mrr_changes holds a person no subscription change names: fact_mrr_monthly rebuilt everyone
catch_up as (
    select count(*) > 0 as rebuilt_all
    from mrr_changes
    where mrr_changes.user_id not in (
            select changes.user_id from changes
            where changes.user_id is not null
            union all
            select changes.previous_user_id from changes
            where changes.previous_user_id is not null
        )
),

bounds as (
    select
        (select max(agg.month) from core.agg_mrr_monthly as agg) as built_to,
        (select max(mrr.month) from core.fact_mrr_monthly as mrr) as facts_to
),

final as (
    select
        case
            when
                core.backfill_requested('agg_mrr_monthly') or catch_up.rebuilt_all
                or bounds.built_to is null or bounds.facts_to is null
                then '-infinity'::date
            -- months appended or dropped since the last run: after the last one both hold
            else least(changed.changed_from, (least(bounds.built_to, bounds.facts_to) + interval '1 month')::date)
        end as recount_from
    from changed
    cross join catch_up
    cross join bounds
)

select * from final;

analyze mrr_months_touched;

delete from core.agg_mrr_monthly as agg
using mrr_months_touched as touched
where agg.month >= touched.recount_from;

insert into core.agg_mrr_monthly (
    month, mrr_cents, start_cents, customers, customers_start, new_cents, reactivation_cents, expansion_cents,
    contraction_cents, churned_cents, churned_involuntary_cents, new_customers, reactivated_customers,
    churned_customers
)

with

person_months as (
    select
        person_months.month,
        person_months.mrr_cents,
        person_months.previous_mrr_cents,
        person_months.movement,
        person_months.movement_cents,
        person_months.is_involuntary
    from core.fact_mrr_monthly as person_months
    inner join mrr_months_touched as touched on person_months.month >= touched.recount_from
),

final as (
    select
        month,
        sum(mrr_cents) as mrr_cents,
        sum(previous_mrr_cents) as start_cents,
        count(*) filter (where mrr_cents > 0) as customers,
        count(*) filter (where previous_mrr_cents > 0) as customers_start,
        sum(movement_cents) filter (where movement = 'new') as new_cents,
        sum(movement_cents) filter (where movement = 'reactivation') as reactivation_cents,
        sum(movement_cents) filter (where movement = 'expansion') as expansion_cents,
        sum(movement_cents) filter (where movement = 'contraction') as contraction_cents,
        sum(movement_cents) filter (where movement = 'churned') as churned_cents,
        sum(movement_cents) filter (where is_involuntary) as churned_involuntary_cents,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers,
        count(*) filter (where movement = 'churned') as churned_customers
    from person_months
    group by month
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_mrr_monthly';
