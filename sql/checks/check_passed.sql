-- grain: statements; this check stage passed: its watermark moves up to what it checked (check_mode), and
-- the scope rows every check stage has passed are deleted (a stage without a watermark sweeps everything
-- on its first run, so it does not hold rows back)
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

create temp table check_passed_upto on commit drop as
select min(watermarks.checked_seq) as checked_seq
from meta.check_watermarks as watermarks
inner join check_mode on watermarks.stage = any(check_mode.scope_stages);

delete from meta.check_scope_files as scope
using check_passed_upto as passed
where scope.scope_seq <= passed.checked_seq;

delete from meta.check_scope_events as scope
using check_passed_upto as passed
where scope.scope_seq <= passed.checked_seq;

delete from meta.check_scope_person_days as scope
using check_passed_upto as passed
where scope.scope_seq <= passed.checked_seq;
