-- grain: one row per valid landing line whose message_id was staged from another line
insert into staging.duplicates (file_id, line_no, message_id)

with

valid as (
    select * from stg_batch
    where reason is null
),

staged as (
    select
        message_id,
        file_id,
        line_no
    from staging.events
),

final as (
    select
        valid.file_id,
        valid.line_no,
        valid.message_id
    from valid
    inner join staged on valid.message_id = staged.message_id
    where (valid.file_id, valid.line_no) <> (staged.file_id, staged.line_no)
)

select * from final;
