-- grain: one row: a fingerprint of what a run can change that the analytics views, data checks and ML read
-- (core's watermark, the file registry, the staged files); equal fingerprints mean nothing changed
-- between two runs
with

core_state as (
    select last_staged_seq
    from core.watermarks
    where step = 'core'
),

loaded_files as (
    select md5(coalesce(string_agg(f::text, '|' order by f.file_id), '')) as files_hash
    from raw.load_files as f
),

staged_files as (
    select md5(coalesce(string_agg(s::text, '|' order by s.file_id), '')) as staged_hash
    from staging.staged_files as s
),

final as (
    select
        md5(concat_ws(
            ':', core_state.last_staged_seq, loaded_files.files_hash, staged_files.staged_hash
        )) as warehouse_state
    from core_state
    cross join loaded_files
    cross join staged_files
)

select * from final
