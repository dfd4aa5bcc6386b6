-- grain: one row per loaded file, with how its lines reconcile (valid + quarantined + duplicates)
insert into staging.staged_files (file_id, valid_events, quarantined, duplicates)

with

new_files as (
    select file_id from stg_files
),

batch as (
    select * from stg_batch
),

-- the lines that were not JSON (not in stg_batch: quarantine.sql took them from raw.rejected_lines)
rejected_lines as (
    select rejected.file_id
    from raw.rejected_lines as rejected
    inner join new_files on rejected.file_id = new_files.file_id
),

-- this batch's duplicates only (through the primary key: not all history)
duplicate_lines as (
    select duplicates.file_id
    from staging.duplicates as duplicates
    inner join new_files on duplicates.file_id = new_files.file_id
),

batch_counts as (
    select
        file_id,
        count(*) filter (where reason is null) as valid_lines,
        count(*) filter (where reason is not null) as quarantined
    from batch
    group by file_id
),

rejected_counts as (
    select
        file_id,
        count(*) as rejected
    from rejected_lines
    group by file_id
),

duplicate_counts as (
    select
        file_id,
        count(*) as duplicates
    from duplicate_lines
    group by file_id
),

-- a duplicate is a valid line that was not staged
final as (
    select
        new_files.file_id,
        coalesce(batch_counts.valid_lines, 0) - coalesce(duplicate_counts.duplicates, 0) as valid_events,
        coalesce(batch_counts.quarantined, 0) + coalesce(rejected_counts.rejected, 0) as quarantined,
        coalesce(duplicate_counts.duplicates, 0) as duplicates
    from new_files
    left join batch_counts on new_files.file_id = batch_counts.file_id
    left join rejected_counts on new_files.file_id = rejected_counts.file_id
    left join duplicate_counts on new_files.file_id = duplicate_counts.file_id
)

select * from final;
