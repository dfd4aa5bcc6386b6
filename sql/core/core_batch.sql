-- grain: one row per staged event not yet in core (ids as sent: the person is resolved in fact_events)
-- temp table: the runner creates it for this run's transaction
with

watermark as (
    select last_staged_seq
    from core.watermarks
    where step = 'core'
),

staged as (
    select staging_events.*
    from staging.events as staging_events
    cross join watermark
    where staging_events.staged_seq > watermark.last_staged_seq
),

-- the raw lines of the files the new events came from (raw's key: one range per file), joined to the events
-- as a whole rather than looked up one event at a time
raw_lines as (
    select
        raw_events.file_id,
        raw_events.line_no,
        raw_events.payload
    from raw.events as raw_events
    where raw_events.file_id = any(array(select distinct staged.file_id from staged))
),

-- a staged event's objects, as staging.event_object defines them, taken from its raw line once
objects as (
    select
        staged.*,
        staging.event_object(raw_lines.payload, 'properties') as properties,
        staging.event_object(raw_lines.payload, 'traits') as traits,
        staging.event_object(raw_lines.payload, 'context') as context
    from staged
    inner join raw_lines on staged.file_id = raw_lines.file_id and staged.line_no = raw_lines.line_no
    offset 0  -- noqa: AM09
),

final as (
    select
        staged.staged_seq,
        staged.message_id,
        staged.user_id as sent_user_id,
        staged.anonymous_id,
        staged.previous_id,
        staged.group_id,
        staged.event_type,
        staged.event_name,
        staged.event_at,
        staged.event_date,
        staged.received_at,
        staged.context ->> 'platform' as platform,
        case when staged.event_name = 'feature_used' then staged.properties ->> 'feature' end as feature,
        staged.properties ->> 'document_id' as document_id,
        staged.properties ->> 'session_id' as session_id,
        staged.properties ->> 'plan' as plan,
        staged.properties ->> 'billing_period' as billing_period,
        case
            when staged.event_name in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
                then (staged.properties ->> 'mrr_cents')::bigint
        end as mrr_cents,
        staged.properties,
        -- traits describe an account (core.dim_accounts) only in a group call; context is read for the platform
        case when staged.event_type = 'group' then staged.traits end as traits,
        staged.file_id,
        staged.line_no
    from objects as staged
)

select * from final;
