-- grain: one row per landing line that is not a valid event
insert into staging.quarantine (file_id, line_no, reason, detail, message_id, raw_line)

with

batch as (
    select * from stg_batch
),

new_files as (
    select file_id from stg_files
),

-- lines that were not even JSON text (or not UTF-8): kept by the loader with the parser's reason
rejected_lines as (
    select
        rejected.file_id,
        rejected.line_no,
        rejected.reason,
        rejected.raw_line
    from raw.rejected_lines as rejected
    inner join new_files on rejected.file_id = new_files.file_id
),

-- JSON lines that break a rule of the contract (stg_batch gave the first one)
invalid_events as (
    select
        file_id,
        line_no,
        reason,
        null::text as detail,
        message_id,
        payload::text as raw_line
    from batch
    where reason is not null
),

not_json as (
    select
        file_id,
        line_no,
        case when reason like 'not valid UTF-8%' then 'invalid_utf8' else 'invalid_json' end as reason,
        reason as detail,
        null::text as message_id,
        raw_line
    from rejected_lines
),

final as (
    select * from invalid_events
    union all
    select * from not_json
)

select * from final;
