-- grain: one row per funnel per entry month with an entrant per step of the funnel
-- Definitions: docs/metrics.md (Funnels). A month is recounted from its entrants in core.agg_funnel_user_steps
-- (the partial index on entries) when a person entering in it was rebuilt by agg_funnel_user_steps (their
-- entry month before and after), when its windows can end between the data_through it was counted at and
-- today's (eligibility moves), every month of a redefined funnel, and every month while
-- core.aggregate_backfills asks for it.
create temp table funnel_conversion_through on commit drop as

with

-- the latest valid event timestamp (the index on event_date finds its day without a full scan)
latest_day as (
    select max(event_date) as latest_date
    from core.fact_events
),

final as (
    select max(events.event_at) as data_through
    from core.fact_events as events
    inner join latest_day on events.event_date = latest_day.latest_date
)

select * from final;

analyze funnel_conversion_through;

create temp table funnel_months_touched on commit drop as

with

windows as (
    select
        funnel,
        window_days
    from core.funnel_steps
    where step = 1
),

-- whole funnels: redefined ones, every one on a backfill
whole as (
    select redefined.funnel
    from funnels_redefined as redefined
    union
    select windows.funnel
    from windows
    where core.backfill_requested('agg_funnel_conversion')
),

rebuilt_after as (
    select
        progress.funnel,
        date_trunc('month', progress.entered_at at time zone 'UTC')::date as cohort_month
    from core.agg_funnel_user_steps as progress
    inner join funnel_persons_touched as touched
        on progress.funnel = touched.funnel and progress.user_id = touched.user_id
    where progress.step = 1
),

-- counted as of another data_through: an entrant's window may have ended in between
through_moved as (
    select
        conversion.funnel,
        conversion.cohort_month
    from core.agg_funnel_conversion as conversion
    cross join funnel_conversion_through as through
    inner join windows on conversion.funnel = windows.funnel
    where
        conversion.data_through is distinct from through.data_through
        -- the month's last window ends at the UTC end of the month + window_days × 24 hours
        and (conversion.cohort_month + interval '1 month')::timestamp at time zone 'UTC'
        + make_interval(hours => 24 * windows.window_days)
        > least(conversion.data_through, through.data_through)
),

whole_months as (
    select distinct
        progress.funnel,
        date_trunc('month', progress.entered_at at time zone 'UTC')::date as cohort_month
    from core.agg_funnel_user_steps as progress
    inner join whole on progress.funnel = whole.funnel
    where progress.step = 1
),

final as (
    select
        funnel,
        cohort_month
    from funnel_entries_before
    union
    select
        funnel,
        cohort_month
    from rebuilt_after
    union
    select
        funnel,
        cohort_month
    from through_moved
    union
    select
        funnel,
        cohort_month
    from whole_months
)

select * from final;

analyze funnel_months_touched;

delete from core.agg_funnel_conversion as conversion
using funnel_months_touched as touched
where conversion.funnel = touched.funnel and conversion.cohort_month = touched.cohort_month;

-- a redefined or removed funnel's months that no longer hold entrants, everything on a backfill
delete from core.agg_funnel_conversion
where
    funnel in (select redefined.funnel from funnels_redefined as redefined)
    or funnel not in (select steps.funnel from core.funnel_steps as steps);

delete from core.agg_funnel_conversion
where core.backfill_requested('agg_funnel_conversion');

insert into core.agg_funnel_conversion (
    funnel, cohort_month, step, entered_users, eligible_users, reached_users, median_seconds_to_step, data_through
)

with

steps as (
    select
        funnel,
        step
    from core.funnel_steps
),

-- a month's entrants (t1 in the month, UTC); eligible = their whole window lies in the data
entrants as (
    select
        touched.funnel,
        touched.cohort_month,
        progress.user_id,
        progress.window_ends_at <= through.data_through as is_eligible
    from funnel_months_touched as touched
    cross join funnel_conversion_through as through
    inner join core.agg_funnel_user_steps as progress
        on
            touched.funnel = progress.funnel
            and progress.step = 1
            and progress.entered_at >= touched.cohort_month::timestamp at time zone 'UTC'
            and progress.entered_at < (touched.cohort_month + interval '1 month') at time zone 'UTC'
),

entered as (
    select
        funnel,
        cohort_month,
        count(*) as entered_users,
        count(*) filter (where is_eligible) as eligible_users
    from entrants
    group by funnel, cohort_month
),

-- only eligible persons count as reached (or not); each one's steps looked up by key (offset 0: one lookup
-- per person, not a scan of every person's progress)
reached as (
    select
        entrants.funnel,
        entrants.cohort_month,
        person_steps.step,
        count(*) as reached_users,
        percentile_cont(0.5) within group (order by person_steps.seconds_to_step) as median_seconds_to_step
    from entrants
    cross join
        lateral (
            select
                progress.step,
                progress.seconds_to_step
            from core.agg_funnel_user_steps as progress
            where progress.funnel = entrants.funnel and progress.user_id = entrants.user_id
            offset 0  -- noqa: AM09
        ) as person_steps
    where entrants.is_eligible
    group by entrants.funnel, entrants.cohort_month, person_steps.step
),

final as (
    select
        entered.funnel,
        entered.cohort_month,
        steps.step,
        entered.entered_users,
        entered.eligible_users,
        coalesce(reached.reached_users, 0) as reached_users,
        reached.median_seconds_to_step,
        through.data_through
    from entered
    inner join steps on entered.funnel = steps.funnel
    cross join funnel_conversion_through as through
    left join reached
        on
            entered.funnel = reached.funnel
            and entered.cohort_month = reached.cohort_month
            and steps.step = reached.step
)

select * from final;

-- the months not recounted count the same as of today's data_through (no window ends in between)
update core.agg_funnel_conversion as conversion
set data_through = through.data_through
from funnel_conversion_through as through
where conversion.data_through is distinct from through.data_through;

delete from core.aggregate_backfills
where aggregate = 'agg_funnel_conversion';
