-- grain: one row: every landing file and line loaded, and how staging split the lines
with

files as (
    select lines_read from raw.load_files
),

events as (
    select message_id from staging.events
),

quarantined as (
    select reason from staging.quarantine
),

duplicates as (
    select message_id from staging.duplicates
),

final as (
    select
        (select count(*) from files) as files,
        (select coalesce(sum(lines_read), 0) from files) as lines,
        (select count(*) from events) as events,
        (select count(*) from quarantined) as quarantined,
        (select count(*) from duplicates) as duplicates
)

select * from final
