-- grain: one row per UTC day, from the first to the latest day with activity (quiet days included)
-- DAU, WAU, MAU and stickiness (docs/metrics.md). A changed activity day d changes DAU on d, WAU on d .. d+6
-- and MAU on d .. d+29; those days, and days of the activity range the table does not hold yet, are
-- rebuilt from the person-days of core.fact_daily_user_activity in the 29 days before them and after.
create temp table dau_scope on commit drop as

with

activity_bounds as (
    select
        min(activity_date) as first_day,
        max(activity_date) as last_day
    from core.fact_daily_user_activity
),

-- none counts as built while core.aggregate_backfills asks for a full build
built as (
    select
        min(activity_date) as first_built,
        max(activity_date) as last_built
    from core.agg_daily_active_users
    where not core.backfill_requested('agg_daily_active_users')
),

-- the person-days this run changed (activity that appeared for a person or left one), as the
-- fact_daily_user_activity step (run before this one) found them
changed as (
    select
        min(event_date) as changed_from,
        max(event_date) + 29 as changed_to
    from daily_activity_touched
),

-- days of the activity range before or after the days built (all of them when none is built)
missing as (
    select
        case
            when built.first_built is null or activity_bounds.first_day < built.first_built
                then activity_bounds.first_day
        end as missing_from,
        case
            when built.last_built is null or activity_bounds.last_day > built.last_built
                then activity_bounds.last_day
        end as missing_to,
        case
            when built.last_built is not null and activity_bounds.last_day > built.last_built
                then built.last_built + 1
        end as appended_from,
        -- activity now starting before the first day built: every day up to that one is new, even the days
        -- more than 29 days after the earliest change (quiet days between late activity and the old first day)
        case
            when built.first_built is not null and activity_bounds.first_day < built.first_built
                then built.first_built - 1
        end as prepended_to
    from activity_bounds
    cross join built
),

final as (
    select
        activity_bounds.first_day,
        activity_bounds.last_day,
        greatest(
            least(changed.changed_from, missing.missing_from, missing.appended_from), activity_bounds.first_day
        ) as rebuild_from,
        least(
            greatest(changed.changed_to, missing.missing_to, missing.prepended_to), activity_bounds.last_day
        ) as rebuild_to
    from activity_bounds
    cross join changed
    cross join missing
    -- nothing changed and nothing missing: no row, nothing to rebuild (unless the activity is all gone)
    where
        coalesce(changed.changed_from, missing.missing_from, missing.missing_to) is not null
        or (activity_bounds.first_day is null and exists (select from core.agg_daily_active_users))
)

select * from final;

-- its real size for the planner (an unanalyzed temp table is planned as thousands of rows)
analyze dau_scope;

-- days rebuilt, and days outside the activity range (a correction can shorten it)
delete from core.agg_daily_active_users as dau
using dau_scope as scope
where
    dau.activity_date between scope.rebuild_from and scope.rebuild_to
    or dau.activity_date < scope.first_day
    or dau.activity_date > scope.last_day
    or scope.first_day is null;

insert into core.agg_daily_active_users (activity_date, dau, wau, mau, stickiness)

with

scope as (
    select
        rebuild_from,
        rebuild_to
    from dau_scope
    where rebuild_from <= rebuild_to and first_day is not null
),

-- the person-days that can count on a rebuilt day: up to 29 days before it
activity as (
    select
        activity.user_id,
        activity.activity_date
    from core.fact_daily_user_activity as activity
    inner join scope
        on activity.activity_date between scope.rebuild_from - 29 and scope.rebuild_to
),

days as (
    select generate_series(rebuild_from - 29, rebuild_to, interval '1 day')::date as activity_date
    from scope
),

user_days as (
    select
        user_id,
        activity_date,
        lead(activity_date) over (partition by user_id order by activity_date) as next_active_date
    from activity
),

-- An active day keeps its user in the 7-day (30-day) window until 7 (30) days later or until their
-- next active day takes over, so each user is counted at most once per day: +1 at the start, -1 after.
window_edges as (
    select
        activity_date as edge_date,
        1 as dau,
        1 as wau,
        1 as mau
    from user_days
    union all
    select
        activity_date + 1 as edge_date,
        -1 as dau,
        0 as wau,
        0 as mau
    from user_days
    union all
    select
        least(activity_date + 7, next_active_date) as edge_date,
        0 as dau,
        -1 as wau,
        0 as mau
    from user_days
    union all
    select
        least(activity_date + 30, next_active_date) as edge_date,
        0 as dau,
        0 as wau,
        -1 as mau
    from user_days
),

daily_edges as (
    select
        edge_date,
        sum(dau) as dau,
        sum(wau) as wau,
        sum(mau) as mau
    from window_edges
    group by edge_date
),

-- the running sums are complete from rebuild_from on: every person-day that counts there is in the window
rolling as (
    select
        days.activity_date,
        sum(coalesce(daily_edges.dau, 0)) over running as dau,
        sum(coalesce(daily_edges.wau, 0)) over running as wau,
        sum(coalesce(daily_edges.mau, 0)) over running as mau
    from days
    left join daily_edges on days.activity_date = daily_edges.edge_date
    window running as (order by days.activity_date rows between unbounded preceding and current row)
),

final as (
    select
        rolling.activity_date,
        rolling.dau::integer as dau,
        rolling.wau::integer as wau,
        rolling.mau::integer as mau,
        round(rolling.dau::numeric / nullif(rolling.mau, 0), 6) as stickiness
    from rolling
    cross join scope
    where rolling.activity_date >= scope.rebuild_from
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_daily_active_users';
