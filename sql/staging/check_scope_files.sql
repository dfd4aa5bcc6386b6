-- grain: one row per file this run staged (or re-staged), added to the data checks' scope
-- (meta.check_scope_files); a file staged again takes a new scope_seq, so every check stage re-checks it
insert into meta.check_scope_files (file_id)

with

staged as (
    select file_id from stg_files
),

final as (
    select file_id
    from staged
)

select * from final
on conflict (file_id) do update set scope_seq = excluded.scope_seq;
