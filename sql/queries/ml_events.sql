-- grain: one row per activity event (track, page, screen) of a person from %(since)s on, plus every
-- earlier signup (so tenure stays right); events attributed to nobody are no one's behaviour; in time order,
-- equal timestamps in load order (file_id, line_no)
with

person_events as (
    select
        user_id,
        event_at,
        received_at,
        event_name,
        platform,
        feature,
        document_id,
        file_id,
        line_no,
        event_type,
        event_date
    from core.fact_events
    where user_id is not null
),

final as (
    select
        user_id,
        event_at,
        received_at,
        event_name,
        platform,
        feature,
        document_id,
        file_id,
        line_no
    from person_events
    where
        (event_type in ('track', 'page', 'screen') and event_date >= %(since)s)
        or (event_type = 'track' and event_name = 'signed_up' and event_date < %(since)s)
)

select * from final
order by user_id, event_at, file_id, line_no
