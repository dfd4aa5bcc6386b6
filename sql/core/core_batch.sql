-- grain: one row per staged event not yet in core (ids as sent: the person is resolved in fact_events)
-- temp table: the runner creates it for this run's transaction
-- One query level, so that the whole select runs in parallel workers (transform.STEP_SETTINGS), as stg_batch: the
-- watermark and the batch's file ids are init plans (values; `staged` is read twice, so it is inlined in both reads
-- — a materialized CTE would be filled by the leader alone), and the lateral `coalesce(row(…))` is a function scan
-- whose objects are computed once per event.
with

staged as not materialized (
    select staging_events.*
    from staging.events as staging_events
    where staging_events.staged_seq > (
            select watermarks.last_staged_seq
            from core.watermarks as watermarks
            where watermarks.step = 'core'
        )
),

-- the files the new events came from (an array: a value the parallel plan hands its workers)
batch_files as (
    select array(select distinct staged.file_id from staged) as file_ids
),

-- the raw lines of those files (raw's key: one range per file), joined to the events as a whole rather than
-- looked up one event at a time
raw_lines as (
    select
        raw_events.file_id,
        raw_events.line_no,
        raw_events.payload
    from raw.events as raw_events
    where raw_events.file_id = any((select batch_files.file_ids from batch_files)::bigint[])
),

-- a staged event's objects, as staging.event_object defines them, taken from its raw line once
objects as (
    select
        staged.*,
        o.*
    from staged
    inner join raw_lines on staged.file_id = raw_lines.file_id and staged.line_no = raw_lines.line_no
    cross join lateral coalesce(row(
        staging.event_object(raw_lines.payload, 'properties'),
        staging.event_object(raw_lines.payload, 'traits'),
        staging.event_object(raw_lines.payload, 'context')
    )) as o (properties jsonb, traits jsonb, context jsonb)
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

select * from final
