-- every event's person is resolve(user id), else resolve(anonymous id) when that is some event's user id,
-- else nobody (DESIGN Contract 1, identity)
with

identity_map as (
    select
        id,
        person_id
    from core.identity_map
),

known_user_ids as (
    select distinct sent_user_id as id
    from core.fact_events
    where sent_user_id is not null
),

expected as (
    select
        events.message_id,
        events.sent_user_id,
        events.anonymous_id,
        events.user_id,
        case
            when events.sent_user_id is not null then coalesce(by_user.person_id, events.sent_user_id)
            when by_anonymous.person_id is not null then by_anonymous.person_id
            when known_user_ids.id is not null then events.anonymous_id
        end as expected_user_id
    from core.fact_events as events
    left join identity_map as by_user on events.sent_user_id = by_user.id
    left join identity_map as by_anonymous on events.anonymous_id = by_anonymous.id
    left join known_user_ids on events.anonymous_id = known_user_ids.id
),

final as (
    select *
    from expected
    where user_id is distinct from expected_user_id
)

select * from final
