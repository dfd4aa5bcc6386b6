-- grain: one row: how much this correction withdraws (read in its transaction, from the sql/files temp tables)
with

events as (
    select message_id from withdrawn_events
),

users as (
    select user_id from withdrawn_users
),

files as (
    select file_id from withdrawn_files
),

final as (
    select
        (select count(*) from events) as events_withdrawn,
        (select count(*) from users) as users_rebuilt,
        (select count(*) from files) as files_restaged
)

select * from final
