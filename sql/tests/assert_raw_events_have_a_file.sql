-- no raw line points past the file registry (raw.events has no foreign key, for COPY speed);
-- registry rows are never deleted, so an index range scan past the newest file finds any orphan
with

newest_file as (
    select coalesce(max(file_id), 0) as file_id
    from raw.load_files
),

final as (
    select distinct events.file_id
    from raw.events as events
    cross join newest_file
    where events.file_id > newest_file.file_id
)

select * from final
