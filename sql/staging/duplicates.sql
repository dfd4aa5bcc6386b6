-- grain: one row per valid landing line whose message_id was staged from another line
insert into staging.duplicates (file_id, line_no, message_id)

with

new_files as (
    select file_id from stg_files
),

valid as (
    select * from stg_batch
    where reason is null
),

-- the events the previous step staged from this batch's lines (through the file index: not all history)
staged as (
    select
        events.file_id,
        events.line_no
    from staging.events as events
    inner join new_files on events.file_id = new_files.file_id
),

-- a valid line that was not staged lost the conflict on its message_id: a copy was staged before it
final as (
    select
        valid.file_id,
        valid.line_no,
        valid.message_id
    from valid
    left join staged on valid.file_id = staged.file_id and valid.line_no = staged.line_no
    where staged.file_id is null
)

select * from final;
