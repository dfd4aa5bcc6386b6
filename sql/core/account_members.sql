-- grain: one row per person per account a group call put them in
-- The (account, person) pairs this run's group calls touch are rebuilt from core.fact_events: a new call's, a call
-- a late link moved (both persons), a call a file correction withdrew (its person before: sql/files/withdrawn_changes).
create temp table account_members_touched on commit drop as
select
    group_id,
    user_id
from core_changes
where event_type = 'group' and group_id is not null and user_id is not null
union
select
    group_id,
    previous_user_id as user_id
from core_changes
where event_type = 'group' and group_id is not null and previous_user_id is not null;

-- statistics, so the next statements plan for the few rows it holds (not a scan of all history)
analyze account_members_touched;

delete from core.account_members as members
using account_members_touched as touched
where members.account_id = touched.group_id and members.user_id = touched.user_id;

insert into core.account_members (account_id, user_id, first_grouped_at, last_grouped_at)

with

touched as (
    select
        group_id,
        user_id
    from account_members_touched
),

group_calls as (
    select
        events.group_id,
        events.user_id,
        events.event_at
    from core.fact_events as events
    inner join touched on events.group_id = touched.group_id and events.user_id = touched.user_id
    where events.event_type = 'group'
),

final as (
    select
        group_id as account_id,
        user_id,
        min(event_at) as first_grouped_at,
        max(event_at) as last_grouped_at
    from group_calls
    group by group_id, user_id
)

select * from final;
