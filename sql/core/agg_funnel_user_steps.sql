-- grain: one row per funnel per person per step they reached (step 1 = they entered the funnel)
-- Funnels are data (core.funnel_steps, from sql/funnels.yml). A person's progress is rebuilt from
-- core.fact_events when this run's changes can move it: they are in the funnel and an event up to the end
-- of their window arrived or left, or they are not in it yet and an event matching step 1's name arrived.
-- A funnel whose definition differs from the one built (core.agg_funnel_definitions) is rebuilt whole,
-- and so is every funnel while core.aggregate_backfills asks for it.
create temp table funnels_redefined on commit drop as
with

current_definitions as (
    select
        funnel,
        step,
        event_name,
        property_filters,
        window_days
    from core.funnel_steps
),

built_definitions as (
    select
        funnel,
        step,
        event_name,
        property_filters,
        window_days
    from core.agg_funnel_definitions
),

added as (
    select * from current_definitions
    except
    select * from built_definitions
),

removed as (
    select * from built_definitions
    except
    select * from current_definitions
),

differences as (
    select * from added
    union all
    select * from removed
),

final as (
    select differences.funnel
    from differences
    union
    select current_definitions.funnel
    from current_definitions
    where core.backfill_requested('agg_funnel_user_steps')
)

select * from final;

create temp table funnel_persons_touched on commit drop as
with

-- events that arrived for a person (new, or re-attributed to them) or left one (re-attributed, withdrawn)
changed as (
    select
        message_id,
        user_id,
        event_name,
        event_at,
        true as arrived
    from core_changes
    where user_id is not null
    union all
    select
        message_id,
        previous_user_id as user_id,
        event_name,
        event_at,
        false as arrived
    from core_changes
    where previous_user_id is not null
),

entries as (
    select
        funnel,
        user_id,
        window_ends_at
    from core.agg_funnel_user_steps
    where step = 1
),

-- each changed person's earliest changed event (one row per person, not per event, to join to the entries)
earliest_changes as (
    select
        user_id,
        min(event_at) as event_at
    from changed
    group by user_id
),

-- in the funnel: a change up to the end of the window can move the entry or the steps
entered as (
    select distinct
        entries.funnel,
        entries.user_id
    from entries
    inner join earliest_changes as changed on entries.user_id = changed.user_id
    where changed.event_at <= entries.window_ends_at
),

-- not in it yet: only an arriving event matching step 1 (its name and its property filters) can let them in;
-- none of their earlier events matched, so a person whose arrivals do not match is not looked up at all
entering as (
    select distinct
        steps.funnel,
        changed.user_id
    from changed
    inner join core.funnel_steps as steps on changed.event_name = steps.event_name
    inner join core.fact_events as events on changed.message_id = events.message_id
    where
        steps.step = 1
        and changed.arrived
        and events.properties @> steps.property_filters
        and not exists (
            select from entries
            where entries.funnel = steps.funnel and entries.user_id = changed.user_id
        )
),

final as (
    select * from entered
    union
    select * from entering
)

select * from final
where funnel not in (select redefined.funnel from funnels_redefined as redefined);

analyze funnels_redefined;
analyze funnel_persons_touched;

-- the entry months of the persons rebuilt below, as they were: agg_funnel_conversion recounts them
create temp table funnel_entries_before on commit drop as
select
    progress.funnel,
    date_trunc('month', progress.entered_at at time zone 'UTC')::date as cohort_month
from core.agg_funnel_user_steps as progress
inner join funnel_persons_touched as touched on progress.funnel = touched.funnel and progress.user_id = touched.user_id
where progress.step = 1;

delete from core.agg_funnel_user_steps as progress
using funnel_persons_touched as touched
where progress.funnel = touched.funnel and progress.user_id = touched.user_id;

delete from core.agg_funnel_user_steps
where funnel in (select redefined.funnel from funnels_redefined as redefined);

delete from core.agg_funnel_user_steps
where funnel not in (select steps.funnel from core.funnel_steps as steps);

insert into core.agg_funnel_user_steps (
    funnel, user_id, step, entered_at, window_ends_at, reached_at, seconds_to_step
)

with recursive

steps as (
    select
        funnel,
        step,
        event_name,
        property_filters,
        window_days
    from core.funnel_steps
),

-- a touched person's entry: their earliest event matching step 1 (a lookup through their events)
touched_entries as (
    select
        steps.funnel,
        touched.user_id,
        first_match.entered_at,
        steps.window_days
    from funnel_persons_touched as touched
    inner join steps on touched.funnel = steps.funnel and steps.step = 1
    cross join
        lateral (
            select min(events.event_at) as entered_at
            from core.fact_events as events
            where
                events.user_id = touched.user_id
                and events.event_name = steps.event_name
                and events.properties @> steps.property_filters
        ) as first_match
    where first_match.entered_at is not null
),

-- a redefined funnel: every person's entry
redefined_entries as (
    select
        steps.funnel,
        events.user_id,
        min(events.event_at) as entered_at,
        min(steps.window_days) as window_days
    from core.fact_events as events
    inner join steps
        on
            events.event_name = steps.event_name
            and events.properties @> steps.property_filters
    where
        steps.step = 1
        and events.user_id is not null
        and steps.funnel in (select redefined.funnel from funnels_redefined as redefined)
    group by steps.funnel, events.user_id
),

-- a person enters at t1, their earliest event matching step 1; the window is window_days × 24 hours of
-- elapsed time (in hours: a `days` interval would follow the session time zone's calendar across a DST change)
entries as (
    select
        funnel,
        user_id,
        entered_at,
        entered_at + make_interval(hours => 24 * window_days) as window_ends_at
    from touched_entries
    union all
    select
        funnel,
        user_id,
        entered_at,
        entered_at + make_interval(hours => 24 * window_days) as window_ends_at
    from redefined_entries
),

-- step k is reached at the earliest matching event at or after t(k-1), if that is within t1 + window
reached (funnel, user_id, step, entered_at, window_ends_at, reached_at) as (
    select
        funnel,
        user_id,
        1,
        entered_at,
        window_ends_at,
        entered_at as reached_at
    from entries
    union all
    select
        reached.funnel,
        reached.user_id,
        next_step.step,
        reached.entered_at,
        reached.window_ends_at,
        next_event.reached_at
    from reached
    inner join steps as next_step
        on reached.funnel = next_step.funnel and next_step.step = reached.step + 1
    cross join
        lateral (
            select min(events.event_at) as reached_at
            from core.fact_events as events
            where
                events.user_id = reached.user_id
                -- the day bounds let the (user_id, event_date) index skip the person's other days
                and events.event_date
                between (reached.reached_at at time zone 'UTC')::date
                and (reached.window_ends_at at time zone 'UTC')::date
                and events.event_name = next_step.event_name
                and events.properties @> next_step.property_filters
                and events.event_at >= reached.reached_at
                and events.event_at <= reached.window_ends_at
        ) as next_event
    where next_event.reached_at is not null
),

final as (
    select
        funnel,
        user_id,
        step,
        entered_at,
        window_ends_at,
        reached_at,
        extract(epoch from reached_at - entered_at) as seconds_to_step
    from reached
)

select * from final;

-- the definitions this table is now built from (rewritten only when they changed)
delete from core.agg_funnel_definitions
where exists (select from funnels_redefined);

insert into core.agg_funnel_definitions (funnel, step, event_name, property_filters, window_days)
select
    funnel,
    step,
    event_name,
    property_filters,
    window_days
from core.funnel_steps
where exists (select from funnels_redefined);

delete from core.aggregate_backfills
where aggregate = 'agg_funnel_user_steps';
