-- grain: one row per period kind (core.lifecycle_periods) per period with an active or a dormant person
-- Growth accounting (docs/metrics.md). A person's class in period P (new, returning, resurrecting when active
-- in P; dormant when active in P-1 and not in P) depends on their own active days only. A person-day that
-- became active or inactive this run (person p, day d in period P) can change p's class in P, P+1 and p's
-- next active period after P; for those person-periods the class before the run (the day's state kept by the
-- fact_daily_user_activity step) and after it are compared, and each period's counts change by the
-- difference: the other persons' classes did not change. Every period is recounted from
-- core.fact_daily_user_activity (a period's person-days, and each active person's latest active day before
-- it) while core.aggregate_backfills asks for it.
create temp table lifecycle_days_changed on commit drop as

with

touched as (
    select
        user_id,
        event_date
    from daily_activity_touched
),

before as (
    select
        user_id,
        event_date
    from daily_activity_before
),

-- the touched person-days active after the run (looked up by the primary key, as daily_activity_before was)
after as (
    select
        activity.user_id,
        activity.activity_date as event_date
    from touched
    inner join core.fact_daily_user_activity as activity
        on touched.user_id = activity.user_id and touched.event_date = activity.activity_date
),

states as (
    select
        touched.user_id,
        touched.event_date,
        exists(
            select from before
            where before.user_id = touched.user_id and before.event_date = touched.event_date
        ) as was_active,
        exists(
            select from after
            where after.user_id = touched.user_id and after.event_date = touched.event_date
        ) as is_active
    from touched
),

-- a day active before and after the run changes no class
final as (
    select
        user_id,
        event_date,
        is_active
    from states
    where was_active <> is_active
)

select * from final;

-- looked up per person-day below
alter table lifecycle_days_changed add primary key (user_id, event_date);

analyze lifecycle_days_changed;

create temp table lifecycle_person_periods on commit drop as

with

kinds as (
    select
        period,
        step
    from core.lifecycle_periods
),

changed_periods as (
    select distinct
        kinds.period,
        kinds.step,
        changed.user_id,
        date_trunc(kinds.period, changed.event_date::timestamp)::date as period_start
    from lifecycle_days_changed as changed
    cross join kinds
),

-- the person's next active period after a changed one (should it lie beyond every changed period of
-- theirs, it is the same before and after the run)
next_active as (
    select
        changed_periods.period,
        changed_periods.step,
        changed_periods.user_id,
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

final as (
    select
        period,
        step,
        user_id,
        period_start
    from changed_periods
    union
    select
        period,
        step,
        user_id,
        (period_start + step)::date as period_start
    from changed_periods
    union
    select
        period,
        step,
        user_id,
        period_start
    from next_active
)

select * from final;

analyze lifecycle_person_periods;

-- each person-period's class after the run (the facts) and before it (the facts, without the days that
-- became active, with the days that became inactive), and each period's counts changed by the difference
insert into core.agg_user_lifecycle as lifecycle (
    period, period_start, new_users, returning_users, resurrecting_users, dormant_users
)

with

person_periods as (
    select
        period,
        step,
        user_id,
        period_start,
        (period_start + step)::date as period_end,
        (period_start - step)::date as previous_start
    from lifecycle_person_periods
),

-- read by key in each lookup below (inlined, not one materialized list scanned per person-period)
added as not materialized (
    select
        user_id,
        event_date
    from lifecycle_days_changed
    where is_active
),

removed as (
    select
        user_id,
        event_date
    from lifecycle_days_changed
    where not is_active
),

states as (
    select
        person_periods.period,
        person_periods.period_start,
        person_periods.previous_start,
        coalesce(now_active.found, false) as active_after,
        coalesce(now_previous.found, false) as previously_active_after,
        now_latest.activity_date as latest_before_after,
        coalesce(then_active.found, false) or removed_days.active as active_before,
        coalesce(then_previous.found, false) or removed_days.previously_active as previously_active_before,
        greatest(then_latest.activity_date, removed_days.latest) as latest_before_before
    from person_periods
    -- after the run: the facts (a "found" lateral reads one row: does any exist)
    left join
        lateral (
            select true as found
            from core.fact_daily_user_activity as activity
            where
                activity.user_id = person_periods.user_id
                and activity.activity_date >= person_periods.period_start
                and activity.activity_date < person_periods.period_end
            limit 1  -- noqa: AM09
        ) as now_active
        on true
    left join
        lateral (
            select true as found
            from core.fact_daily_user_activity as activity
            where
                activity.user_id = person_periods.user_id
                and activity.activity_date >= person_periods.previous_start
                and activity.activity_date < person_periods.period_start
            limit 1  -- noqa: AM09
        ) as now_previous
        on true
    cross join
        lateral (
            select max(activity.activity_date) as activity_date
            from core.fact_daily_user_activity as activity
            where activity.user_id = person_periods.user_id and activity.activity_date < person_periods.period_start
        ) as now_latest
    -- before the run: the facts but the days that became active
    left join
        lateral (
            select true as found
            from core.fact_daily_user_activity as activity
            where
                activity.user_id = person_periods.user_id
                and activity.activity_date >= person_periods.period_start
                and activity.activity_date < person_periods.period_end
                and not exists (
                    select from added
                    where added.user_id = activity.user_id and added.event_date = activity.activity_date
                )
            limit 1  -- noqa: AM09
        ) as then_active
        on true
    left join
        lateral (
            select true as found
            from core.fact_daily_user_activity as activity
            where
                activity.user_id = person_periods.user_id
                and activity.activity_date >= person_periods.previous_start
                and activity.activity_date < person_periods.period_start
                and not exists (
                    select from added
                    where added.user_id = activity.user_id and added.event_date = activity.activity_date
                )
            limit 1  -- noqa: AM09
        ) as then_previous
        on true
    left join
        lateral (
            select activity.activity_date
            from core.fact_daily_user_activity as activity
            where
                activity.user_id = person_periods.user_id
                and activity.activity_date < person_periods.period_start
                and not exists (
                    select from added
                    where added.user_id = activity.user_id and added.event_date = activity.activity_date
                )
            order by activity.activity_date desc
            limit 1
        ) as then_latest
        on true
    -- ... and the days that became inactive (the person's removed days, read once for the three)
    cross join
        lateral (
            select
                coalesce(bool_or(
                    removed.event_date >= person_periods.period_start and removed.event_date < person_periods.period_end
                ), false) as active,
                coalesce(bool_or(
                    removed.event_date >= person_periods.previous_start
                    and removed.event_date < person_periods.period_start
                ), false) as previously_active,
                max(removed.event_date) filter (where removed.event_date < person_periods.period_start) as latest
            from removed
            where removed.user_id = person_periods.user_id
        ) as removed_days
),

-- the class flags (as the full count below: the previous active period is that of the latest active day)
classes as (
    select
        period,
        period_start,
        (active_after and latest_before_after is null)::integer as new_after,
        (
            active_after
            and latest_before_after is not null
            and date_trunc(period, latest_before_after::timestamp)::date = previous_start
        )::integer as returning_after,
        (
            active_after
            and latest_before_after is not null
            and date_trunc(period, latest_before_after::timestamp)::date < previous_start
        )::integer as resurrecting_after,
        (not active_after and previously_active_after)::integer as dormant_after,
        (active_before and latest_before_before is null)::integer as new_before,
        (
            active_before
            and latest_before_before is not null
            and date_trunc(period, latest_before_before::timestamp)::date = previous_start
        )::integer as returning_before,
        (
            active_before
            and latest_before_before is not null
            and date_trunc(period, latest_before_before::timestamp)::date < previous_start
        )::integer as resurrecting_before,
        (not active_before and previously_active_before)::integer as dormant_before
    from states
),

final as (
    select
        period,
        period_start,
        sum(new_after - new_before)::integer as new_users,
        sum(returning_after - returning_before)::integer as returning_users,
        sum(resurrecting_after - resurrecting_before)::integer as resurrecting_users,
        sum(dormant_after - dormant_before)::integer as dormant_users
    from classes
    group by period, period_start
)

select * from final
where
    (new_users, returning_users, resurrecting_users, dormant_users) <> (0, 0, 0, 0)
    -- a full build below recounts every period
    and not core.backfill_requested('agg_user_lifecycle')
    -- a catch-up's many person-periods: their periods are recounted below instead (a few hash joins beat
    -- hundreds of thousands of lookups)
    and (select count(*) from lifecycle_person_periods) <= 20000

on conflict (period, period_start) do update set
    new_users = lifecycle.new_users + excluded.new_users,
    returning_users = lifecycle.returning_users + excluded.returning_users,
    resurrecting_users = lifecycle.resurrecting_users + excluded.resurrecting_users,
    dormant_users = lifecycle.dormant_users + excluded.dormant_users;

-- a period left with no active and no dormant person has no row (as in a full count)
delete from core.agg_user_lifecycle as lifecycle
using (
    select distinct
        period,
        period_start
    from lifecycle_person_periods
) as touched
where
    lifecycle.period = touched.period
    and lifecycle.period_start = touched.period_start
    and (lifecycle.new_users, lifecycle.returning_users, lifecycle.resurrecting_users, lifecycle.dormant_users)
    = (0, 0, 0, 0);

-- a full build: every period while core.aggregate_backfills asks for it, recounted; a catch-up's touched periods
create temp table lifecycle_touched on commit drop as

with kinds as (
    select
        period,
        step
    from core.lifecycle_periods
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
    where core.backfill_requested('agg_user_lifecycle')
),

-- more person-periods than the counting above takes (the same limit): their periods, recounted
catch_up as (
    select distinct
        person_periods.period,
        person_periods.step,
        person_periods.period_start
    from lifecycle_person_periods as person_periods
    where (select count(*) from lifecycle_person_periods) > 20000
),

final as (
    select * from backfill
    union
    select * from catch_up
)

select * from final;

-- its real size for the planner (an unanalyzed temp table is planned as thousands of rows)
analyze lifecycle_touched;

delete from core.agg_user_lifecycle as lifecycle
using lifecycle_touched as touched
where lifecycle.period = touched.period and lifecycle.period_start = touched.period_start;

delete from core.agg_user_lifecycle
where core.backfill_requested('agg_user_lifecycle');

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
