-- grain: one row per loaded file the data checks reconcile: staged since this check stage last passed
-- (meta.check_scope_files); a full sweep reads all_files instead
-- temp table: the data-test runner creates it in the checks' transaction, after check_mode
with

mode as (
    select
        after_seq,
        upto_seq
    from check_mode
),

final as (
    select scope.file_id
    from meta.check_scope_files as scope
    where
        scope.scope_seq > (select mode.after_seq from mode)
        and scope.scope_seq <= (select mode.upto_seq from mode)
)

select * from final
