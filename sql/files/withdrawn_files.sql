-- grain: one row per loaded file to re-stage: the corrected file and every file sharing a message_id with it
-- temp table: the runner creates it for this correction's transaction
with

messages as (
    select message_id from withdrawn_messages
),

-- re-staging every copy of a message together lets the earliest (file, line) win, as in a clean run
sharing_staged as (
    select distinct events.file_id
    from staging.events as events
    inner join messages on events.message_id = messages.message_id
),

sharing_duplicates as (
    select distinct duplicates.file_id
    from staging.duplicates as duplicates
    inner join messages on duplicates.message_id = messages.message_id
),

final as (
    select file_id from corrected_files
    union
    select file_id from sharing_staged
    union
    select file_id from sharing_duplicates
)

select * from final
