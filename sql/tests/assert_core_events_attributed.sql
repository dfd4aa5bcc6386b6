-- every event's person is resolve(user id), else resolve(anonymous id) when that is some event's user id,
-- else nobody (DESIGN Contract 1, identity)
-- (checked: the events of check_events — inserted or re-attributed since the checks last passed, or every
-- event in a full sweep)
with

identity_map as (
    select
        id,
        person_id
    from core.identity_map
),

-- the checked events' core rows (check_events read them once for every test)
checked as (
    select
        check_events.message_id,
        check_events.sent_user_id,
        check_events.anonymous_id,
        check_events.user_id
    from check_events
    where check_events.in_core
),

-- the anonymous ids of events sent without a user id: the only ones the rule below asks about
anonymous_ids as (
    select distinct check_events.anonymous_id as id
    from check_events
    where check_events.in_core and check_events.sent_user_id is null and check_events.anonymous_id is not null
),

-- an anonymous id is a known user id when some event was sent with it as its user id: one index lookup
-- per id (an exists in the select list is not turned into a join that would read every event)
looked_up as (
    select
        anonymous_ids.id,
        exists(
            select from core.fact_events as events
            where events.sent_user_id = anonymous_ids.id
        ) as is_user_id
    from anonymous_ids
),

known_user_ids as (
    select looked_up.id
    from looked_up
    where looked_up.is_user_id
),

expected as (
    select
        checked.message_id,
        checked.sent_user_id,
        checked.anonymous_id,
        checked.user_id,
        case
            when checked.sent_user_id is not null then coalesce(by_user.person_id, checked.sent_user_id)
            when by_anonymous.person_id is not null then by_anonymous.person_id
            when known_user_ids.id is not null then checked.anonymous_id
        end as expected_user_id
    from checked
    left join identity_map as by_user on checked.sent_user_id = by_user.id
    left join identity_map as by_anonymous on checked.anonymous_id = by_anonymous.id
    left join known_user_ids on checked.anonymous_id = known_user_ids.id
),

final as (
    select *
    from expected
    where user_id is distinct from expected_user_id
)

select * from final
