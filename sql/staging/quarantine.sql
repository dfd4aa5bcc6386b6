-- grain: one row per landing line that is not a valid event
insert into staging.quarantine (file_id, line_no, reason, detail, message_id, raw_line)

with

batch as (
    select * from stg_batch
),

rejected as (
    select
        file_id,
        line_no,
        raw_line
    from raw.rejected_lines
),

final as (
    select
        batch.file_id,
        batch.line_no,
        batch.reason,
        batch.detail,
        batch.message_id,
        coalesce(batch.payload::text, rejected.raw_line) as raw_line
    from batch
    left join rejected
        on batch.file_id = rejected.file_id and batch.line_no = rejected.line_no
    where batch.reason is not null
)

select * from final;
