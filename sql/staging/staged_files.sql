-- grain: one row per loaded file, with how its lines reconcile (valid + quarantined + duplicates)
insert into staging.staged_files (file_id, valid_events, quarantined, duplicates)

with

new_files as (
    select file_id from stg_files
),

batch as (
    select * from stg_batch
),

duplicate_lines as (
    select
        file_id,
        line_no
    from staging.duplicates
),

final as (
    select
        new_files.file_id,
        count(batch.line_no) filter (where batch.reason is null and duplicate_lines.line_no is null)
            as valid_events,
        count(batch.line_no) filter (where batch.reason is not null) as quarantined,
        count(duplicate_lines.line_no) as duplicates
    from new_files
    left join batch on new_files.file_id = batch.file_id
    left join duplicate_lines
        on batch.file_id = duplicate_lines.file_id and batch.line_no = duplicate_lines.line_no
    group by new_files.file_id
)

select * from final;
