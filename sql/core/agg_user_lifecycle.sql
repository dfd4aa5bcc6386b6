-- grain: one row per period kind (day, week, month) per period with an active or a dormant person
-- Growth accounting (docs/metrics.md). A changed person-day (person p, day d in period P) can change P's
-- counts, P+1's dormant count and the classification of p's next active period after P; those periods are
-- recounted from core.fact_daily_user_activity (a period's person-days, and each active person's latest
-- active day before it); every period while core.aggregate_backfills asks for it.
create temp table lifecycle_touched on commit drop as

with kinds as (
    select
        kind.period,
        kind.step
    from (
        values ('day', interval '1 day'), ('week', interval '7 days'), ('month', interval '1 month')
    ) as kind (period, step)
),

-- the person-days this run changed, as the fact_daily_user_activity step (run before this one) found them
changed as (
    select
        user_id,
        event_date
    from daily_activity_touched
),

changed_periods as (
    select distinct
        kinds.period,
        kinds.step,
        changed.user_id,
        date_trunc(kinds.period, changed.event_date::timestamp)::date as period_start
    from changed
    cross join kinds
),

next_active as (
    select
        changed_periods.period,
        changed_periods.step,
        date_trunc(changed_periods.period, following.activity_date::timestamp)::date as period_start
    from changed_periods
    cross join
        lateral (
            select min(activity.activity_date) as activity_date
            from core.fact_daily_user_activity as activity
            where
                activity.user_id = changed_periods.user_id
                and activity.activity_date >= (changed_periods.period_start + changed_periods.step)::date
        ) as following
    where following.activity_date is not null
),

bounds as (
    select
        min(activity_date) as first_day,
        max(activity_date) as last_day
    from core.fact_daily_user_activity
),

backfill as (
    select
        kinds.period,
        kinds.step,
        starts.period_start::date as period_start
    from kinds
    cross join bounds
    cross join
        lateral generate_series(
            date_trunc(kinds.period, bounds.first_day::timestamp), bounds.last_day::timestamp + kinds.step, kinds.step
        ) as starts (period_start)
    where exists (
            select from core.aggregate_backfills as backfills
            where backfills.aggregate = 'agg_user_lifecycle'
        )
),

final as (
    select
        period,
        step,
        period_start
    from changed_periods
    union
    select
        period,
        step,
        (period_start + step)::date as period_start
    from changed_periods
    union
    select
        period,
        step,
        period_start
    from next_active
    union
    select
        period,
        step,
        period_start
    from backfill
)

select * from final;

-- statistics, so the next statements plan for the few rows it holds (not a scan of all history)
analyze lifecycle_touched;

delete from core.agg_user_lifecycle as lifecycle
using lifecycle_touched as touched
where lifecycle.period = touched.period and lifecycle.period_start = touched.period_start;

delete from core.agg_user_lifecycle
where exists (
        select from core.aggregate_backfills as backfills
        where backfills.aggregate = 'agg_user_lifecycle'
    );

insert into core.agg_user_lifecycle (
    period, period_start, new_users, returning_users, resurrecting_users, dormant_users
)

with

touched as (
    select
        period,
        step,
        period_start
    from lifecycle_touched
),

-- the persons active in each touched period
active as (
    select distinct
        touched.period,
        touched.step,
        touched.period_start,
        activity.user_id
    from touched
    inner join core.fact_daily_user_activity as activity
        on
            touched.period_start <= activity.activity_date
            and activity.activity_date < (touched.period_start + touched.step)::date
),

-- each one's previous active period of the same kind: the period of their latest active day before it
classified as (
    select
        active.period,
        active.step,
        active.period_start,
        date_trunc(active.period, previous.activity_date::timestamp)::date as previous_start
    from active
    cross join lateral (
        select max(activity.activity_date) as activity_date
        from core.fact_daily_user_activity as activity
        where activity.user_id = active.user_id and activity.activity_date < active.period_start
    ) as previous
),

active_counts as (
    select
        period,
        period_start,
        count(*) filter (where previous_start is null) as new_users,
        count(*) filter (where previous_start = (period_start - step)::date) as returning_users,
        count(*) filter (where previous_start < (period_start - step)::date) as resurrecting_users
    from classified
    group by period, period_start
),

-- active in P-1 and not in P: dormant in P
previously_active as (
    select distinct
        touched.period,
        touched.period_start,
        activity.user_id
    from touched
    inner join core.fact_daily_user_activity as activity
        on
            activity.activity_date >= (touched.period_start - touched.step)::date
            and touched.period_start > activity.activity_date
),

dormant_counts as (
    select
        previously_active.period,
        previously_active.period_start,
        count(*) as dormant_users
    from previously_active
    where not exists (
            select from active
            where
                active.period = previously_active.period
                and active.period_start = previously_active.period_start
                and active.user_id = previously_active.user_id
        )
    group by previously_active.period, previously_active.period_start
),

final as (
    select
        coalesce(active_counts.period, dormant_counts.period) as period,
        coalesce(active_counts.period_start, dormant_counts.period_start) as period_start,
        coalesce(active_counts.new_users, 0) as new_users,
        coalesce(active_counts.returning_users, 0) as returning_users,
        coalesce(active_counts.resurrecting_users, 0) as resurrecting_users,
        coalesce(dormant_counts.dormant_users, 0) as dormant_users
    from active_counts
    full join dormant_counts
        on active_counts.period = dormant_counts.period and active_counts.period_start = dormant_counts.period_start
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_user_lifecycle';
