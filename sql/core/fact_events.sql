-- grain: one row per valid, deduplicated event; user_id = the person (null: nobody), sent_user_id = userId as sent
-- Step 1: ids this batch uses as a user id for the first time (their anonymous-only events may now resolve):
-- the batch's user ids once each (a few thousand), then looked up in history one by one.
create temp table core_new_user_ids on commit drop as
with

batch_user_ids as (
    select distinct sent_user_id as id
    from core_batch
    where sent_user_id is not null
),

final as (
    select batch_user_ids.id
    from batch_user_ids
    where not exists (
            select 1 from core.fact_events as known
            where known.sent_user_id = batch_user_ids.id
        )
)

select * from final;

-- Step 2: this run's events, attributed to their person; the rows inserted are kept for core_changes
-- (instead of a join of the day back to core.fact_events by message_id).
create temp table core_inserted (
    message_id text,
    user_id text,
    event_type text,
    event_name text,
    event_at timestamptz,
    event_date date,
    platform text,
    file_id bigint,
    line_no integer,
    document_id text,
    feature text,
    group_id text
) on commit drop;

with

batch as (
    select * from core_batch
),

identity_map as (
    select
        id,
        person_id
    from core.identity_map
),

-- an anonymous id without a link names a person only when some valid event used it as a user id
known_user_ids as (
    select distinct batch.anonymous_id as id
    from core_batch as batch
    where
        batch.sent_user_id is null
        and (
            exists (
                select 1 from core.fact_events as f
                where f.sent_user_id = batch.anonymous_id
            )
            -- or in this batch: the batch's user ids not in history are core_new_user_ids (a hashed list of a
            -- few ids, not of the batch's million events)
            or batch.anonymous_id in (
                select new_ids.id from core_new_user_ids as new_ids
            )
        )
),

final as (
    select
        batch.message_id,
        case
            when batch.sent_user_id is not null then coalesce(by_user.person_id, batch.sent_user_id)
            else coalesce(by_anonymous.person_id, known_user_ids.id)
        end as user_id,
        batch.sent_user_id,
        batch.anonymous_id,
        batch.previous_id,
        batch.group_id,
        batch.event_type,
        batch.event_name,
        batch.event_at,
        batch.event_date,
        batch.received_at,
        batch.platform,
        batch.feature,
        batch.document_id,
        batch.session_id,
        batch.properties,
        batch.file_id,
        batch.line_no
    from batch
    left join identity_map as by_user on batch.sent_user_id = by_user.id
    left join identity_map as by_anonymous on batch.anonymous_id = by_anonymous.id
    left join known_user_ids on batch.anonymous_id = known_user_ids.id
),

-- A plain insert, no `on conflict`: no batch event can already be in core. Staging holds one row per message_id
-- (its primary key); core takes the staged events after its watermark and moves the watermark past them in the
-- same transaction (watermarks.sql), and staging and core never interleave (the transform lock). A file
-- correction deletes from core every event it re-stages or re-sequences, in its own transaction, before the
-- core steps run (sql/files/withdraw_core.sql: the withdrawn files' events, and the events it gives a fresh
-- staged_seq). Should a conflict ever happen, the primary key raises an error and the run rolls back: never a
-- silently dropped event.
inserted as (
    insert into core.fact_events (
        message_id, user_id, sent_user_id, anonymous_id, previous_id, group_id, event_type, event_name, event_at,
        event_date, received_at, platform, feature, document_id, session_id, properties, file_id, line_no
    )
    select * from final
    -- the primary key's B-tree filled in key order: each leaf page is visited once, not once per event
    order by message_id collate "C"
    returning
        message_id, user_id, event_type, event_name, event_at, event_date, platform, file_id, line_no, document_id,
        feature, group_id
)

insert into core_inserted (
    message_id, user_id, event_type, event_name, event_at, event_date, platform, file_id, line_no, document_id,
    feature, group_id
)
select * from inserted;

-- Step 3: earlier events whose person changed (a late identify or alias): re-attributed, and kept for core_changes.
-- (statistics first: unanalyzed, the two id lists look like 2,000 ids and the planner hashes all of fact_events)
analyze identity_changes, core_new_user_ids;

create temp table core_reattributed (
    message_id text primary key,
    user_id text,
    previous_user_id text
) on commit drop;

with

affected_ids as (
    select id from identity_changes
    union
    select id from core_new_user_ids
),

candidates as (
    select
        events.message_id,
        events.user_id as previous_user_id,
        events.sent_user_id,
        events.anonymous_id
    from core.fact_events as events
    inner join affected_ids on events.sent_user_id = affected_ids.id
    union
    select
        events.message_id,
        events.user_id as previous_user_id,
        events.sent_user_id,
        events.anonymous_id
    from core.fact_events as events
    inner join affected_ids on events.anonymous_id = affected_ids.id
    where events.sent_user_id is null
),

resolved as (
    select
        candidates.message_id,
        candidates.previous_user_id,
        case
            when candidates.sent_user_id is not null then coalesce(by_user.person_id, candidates.sent_user_id)
            when by_anonymous.person_id is not null then by_anonymous.person_id
            when exists (
                    select 1 from core.fact_events as f
                    where f.sent_user_id = candidates.anonymous_id
                )
                then candidates.anonymous_id
        end as user_id
    from candidates
    left join core.identity_map as by_user on candidates.sent_user_id = by_user.id
    left join core.identity_map as by_anonymous on candidates.anonymous_id = by_anonymous.id
),

moved as (
    update core.fact_events as events
    set user_id = resolved.user_id
    from resolved
    where events.message_id = resolved.message_id and events.user_id is distinct from resolved.user_id
    returning events.message_id, resolved.user_id, resolved.previous_user_id
)

insert into core_reattributed (message_id, user_id, previous_user_id)
select
    message_id,
    user_id,
    previous_user_id
from moved;
