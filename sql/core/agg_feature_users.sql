-- grain: one row per person per feature they used (valid, deduplicated feature_used track events)
-- A person-feature row is recounted from core.fact_events (the partial index fact_events_feature_uses: the
-- person's uses of that feature, not their whole history) when this run's changes moved a use of that feature
-- to the person; all of a person's rows when a feature_used event left them (re-attributed or withdrawn: its
-- feature may be gone or changed by a correction); every person's while core.aggregate_backfills asks for a full
-- build. A null feature below stands for "every feature of the person".
create temp table feature_users_touched on commit drop as
with

uses_changed as (
    select
        message_id,
        user_id,
        previous_user_id,
        feature
    from core_changes
    where event_type = 'track' and event_name = 'feature_used'
),

-- feature uses that arrived for a person: the event is in fact_events with this feature (core_changes carries it;
-- an event that left core, withdrawn by a file correction, has no person)
arrived as (
    select
        user_id,
        feature
    from uses_changed
    where user_id is not null
),

-- feature uses that left a person: every feature of theirs is recounted
departed as (
    select
        previous_user_id as user_id,
        null::text as feature
    from uses_changed
    where previous_user_id is not null
),

backfill as (
    select distinct
        events.user_id,
        null::text as feature
    from core.fact_events as events
    where
        events.event_type = 'track'
        and events.event_name = 'feature_used'
        and events.user_id is not null
        and core.backfill_requested('agg_feature_users')
),

whole_persons as (
    select * from departed
    union
    select * from backfill
),

final as (
    select * from whole_persons
    union
    select arrived.* from arrived
    -- a person recounted whole needs no single-feature row (it would count that feature twice)
    where not exists (
            select from whole_persons
            where whole_persons.user_id = arrived.user_id
        )
)

select * from final;

analyze feature_users_touched;

delete from core.agg_feature_users as uses
using feature_users_touched as touched
where
    uses.user_id = touched.user_id
    and (touched.feature is null or uses.feature = touched.feature);

delete from core.agg_feature_users
where core.backfill_requested('agg_feature_users');

insert into core.agg_feature_users (user_id, feature, uses)

with

-- a touched person-feature's uses (or all of a touched person's), looked up through the partial index
-- (offset 0: one lookup per touched row)
feature_uses as (
    select
        touched.user_id,
        person_uses.feature
    from feature_users_touched as touched
    cross join
        lateral (
            select events.feature
            from core.fact_events as events
            where
                events.user_id = touched.user_id
                and (touched.feature is null or events.feature = touched.feature)
                and events.event_type = 'track'
                and events.event_name = 'feature_used'
            offset 0  -- noqa: AM09
        ) as person_uses
),

final as (
    select
        user_id,
        feature,
        count(*)::integer as uses
    from feature_uses
    group by user_id, feature
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_feature_users';
