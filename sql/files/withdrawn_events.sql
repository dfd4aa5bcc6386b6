-- grain: one row per core event withdrawn by this correction (its file is corrected or re-staged); user_id is
-- its person before the correction (withdraw_identity adds the events whose person the withdrawal changes)
-- temp table: the runner creates it for this correction's transaction
with

files as (
    select file_id from withdrawn_files
),

events as (
    select
        fact.message_id,
        fact.user_id,
        fact.event_type,
        fact.event_name,
        fact.event_at,
        fact.event_date,
        fact.feature,
        fact.document_id,
        fact.sent_user_id,
        fact.anonymous_id,
        fact.group_id,
        fact.properties ->> 'plan' as plan
    from core.fact_events as fact
    inner join files on fact.file_id = files.file_id
),

final as (
    select * from events
)

select * from final
