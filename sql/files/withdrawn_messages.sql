-- grain: one row per message_id a corrected file carried (old content), or carries (new raw content)
-- temp table: the runner creates it for this correction's transaction
with

corrected as (
    select file_id from corrected_files
),

old_staged as (
    select events.message_id
    from staging.events as events
    inner join corrected on events.file_id = corrected.file_id
),

old_duplicates as (
    select duplicates.message_id
    from staging.duplicates as duplicates
    inner join corrected on duplicates.file_id = corrected.file_id
),

new_raw as (
    -- the id as staging reads it (messageId, else message_id), so a corrected Segment file's ids are found
    select staging.event_message_id(raw_events.payload) as message_id
    from raw.events as raw_events
    inner join corrected on raw_events.file_id = corrected.file_id
    where jsonb_typeof(raw_events.payload) = 'object'
),

final as (
    select message_id from old_staged
    union
    select message_id from old_duplicates
    union
    select message_id from new_raw
)

select * from final
where message_id is not null
