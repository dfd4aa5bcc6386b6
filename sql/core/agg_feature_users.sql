-- grain: one row per person per feature they used (valid, deduplicated feature_used track events)
-- A person's rows are recounted from core.fact_events (through their (user_id, event_date) index) when this
-- run's changes moved a feature_used event to them or away from them (new, re-attributed, withdrawn);
-- every person's while core.aggregate_backfills asks for a full build.
create temp table feature_users_touched on commit drop as
with

-- feature uses that arrived for a person or left one
changed as (
    select user_id
    from core_changes
    where event_type = 'track' and event_name = 'feature_used' and user_id is not null
    union
    select previous_user_id as user_id
    from core_changes
    where event_type = 'track' and event_name = 'feature_used' and previous_user_id is not null
),

backfill as (
    select distinct events.user_id
    from core.fact_events as events
    where
        events.event_type = 'track'
        and events.event_name = 'feature_used'
        and events.user_id is not null
        and core.backfill_requested('agg_feature_users')
),

final as (
    select user_id from changed
    union
    select user_id from backfill
)

select * from final;

analyze feature_users_touched;

delete from core.agg_feature_users as uses
where uses.user_id in (select touched.user_id from feature_users_touched as touched);

delete from core.agg_feature_users
where core.backfill_requested('agg_feature_users');

insert into core.agg_feature_users (user_id, feature, uses)

with

-- a touched person's feature uses, looked up through their events (offset 0: one lookup per person)
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
