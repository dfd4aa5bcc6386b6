-- grain: statements; this check stage passed: its watermark moves up to what it checked (check_mode), and
-- the scope rows every check stage that reads the scope (check_mode.scope_stages) has passed are deleted
insert into meta.check_watermarks (stage, checked_seq, mode)

with

mode as (
    select
        stage,
        upto_seq,
        full_sweep
    from check_mode
),

final as (
    select
        stage,
        upto_seq as checked_seq,
        case when full_sweep then 'full' else 'scoped' end as mode
    from mode
)

select * from final
on conflict (stage) do update set
    checked_seq = greatest(meta.check_watermarks.checked_seq, excluded.checked_seq),
    mode = excluded.mode,
    checked_at = now();

-- a consumer stage that never passed holds every row back (0): the DAG's SQL check operators, running
-- beside the first core checks, still find the run's rows
create temp table check_passed_upto on commit drop as
select min(coalesce(watermarks.checked_seq, 0)) as checked_seq
from check_mode
cross join lateral unnest(check_mode.scope_stages) as consumers (stage)
left join meta.check_watermarks as watermarks on consumers.stage = watermarks.stage;

delete from meta.check_scope_files as scope
using check_passed_upto as passed
where scope.scope_seq <= passed.checked_seq;

delete from meta.check_scope_events as scope
using check_passed_upto as passed
where scope.scope_seq <= passed.checked_seq;

delete from meta.check_scope_person_days as scope
using check_passed_upto as passed
where scope.scope_seq <= passed.checked_seq;

delete from meta.check_scope_staged as scope
using check_passed_upto as passed
where scope.scope_seq <= passed.checked_seq;
