-- grain: statements; what this run changed joins the data checks' scope (meta.check_scope_*), which
-- outlives this transaction: the staged events it inserted as one staged_seq range (core_batch is every
-- staged event after core's watermark), the events it re-attributed or withdrawn one by one, and the
-- person-days whose facts it rebuilt; a key touched again takes a new scope_seq, so every check stage
-- re-checks it
insert into meta.check_scope_staged (after_staged_seq, upto_staged_seq)

with

batch as (
    select
        min(staged_seq) - 1 as after_staged_seq,
        max(staged_seq) as upto_staged_seq
    from core_batch
),

final as (
    select
        after_staged_seq,
        upto_staged_seq
    from batch
    where upto_staged_seq is not null
)

select * from final;

insert into meta.check_scope_events (message_id)

with

-- the changes that are not this run's inserts (those are in the range above)
changes as (
    select distinct changes.message_id
    from core_changes as changes
    where not exists (
            select from core_batch
            where core_batch.message_id = changes.message_id
        )
),

final as (
    select message_id
    from changes
)

select * from final
on conflict (message_id) do update set scope_seq = excluded.scope_seq;

insert into meta.check_scope_person_days (user_id, activity_date)

with

-- a person-day gains the events moved to user_id and loses those moved from previous_user_id
person_days as (
    select
        user_id,
        event_date as activity_date
    from core_changes
    where user_id is not null
    union
    select
        previous_user_id as user_id,
        event_date as activity_date
    from core_changes
    where previous_user_id is not null
),

final as (
    select
        user_id,
        activity_date
    from person_days
)

select * from final
on conflict (user_id, activity_date) do update set scope_seq = excluded.scope_seq;
