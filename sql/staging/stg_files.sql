-- grain: one row per loaded file not yet staged
-- temp table: the runner creates it for this run's transaction
with

loaded as (
    select file_id
    from raw.load_files
),

staged as (
    select file_id
    from staging.staged_files
),

final as (
    select loaded.file_id
    from loaded
    left join staged on loaded.file_id = staged.file_id
    where staged.file_id is null
)

select * from final;
