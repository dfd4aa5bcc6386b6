-- grain: one row (or none): the loader's registry row of the file %(file_name)s
with

files as (
    select
        file_id,
        file_name,
        sha256,
        lines_read
    from raw.load_files
),

final as (
    select
        file_id,
        sha256,
        lines_read
    from files
    where file_name = %(file_name)s
)

select * from final
