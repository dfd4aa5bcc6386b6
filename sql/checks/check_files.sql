-- grain: one row per loaded file the data checks reconcile: staged since this check stage last passed
-- (meta.check_scope_files), or every loaded file in a full sweep
-- temp table: the data-test runner creates it in the checks' transaction, after check_mode
with

mode as (
    select
        full_sweep,
        after_seq,
        upto_seq
    from check_mode
),

scoped as (
    select scope.file_id
    from meta.check_scope_files as scope
    where
        scope.scope_seq > (select mode.after_seq from mode)
        and scope.scope_seq <= (select mode.upto_seq from mode)
        and not (select mode.full_sweep from mode)
),

-- the scalar subquery is a one-time filter: in the daily case the registry is not read at all
everything as (
    select files.file_id
    from raw.load_files as files
    where (select mode.full_sweep from mode)
),

final as (
    select * from scoped
    union all
    select * from everything
)

select * from final
