-- grain: statements; the core events this run inserted, re-attributed or withdrawn (core_changes) and
-- the person-days whose facts it rebuilt join the data checks' scope (meta.check_scope_*), which outlives
-- this transaction; a key touched again takes a new scope_seq, so every check stage re-checks it
insert into meta.check_scope_events (message_id)

with

changes as (
    select distinct message_id from core_changes
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
