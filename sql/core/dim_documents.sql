-- grain: one row per document id
insert into core.dim_documents (document_id, first_user_id, first_event_at, last_event_at)

with

-- this run's new document events of persons (events of nobody name no first user)
document_events as (
    select
        events.document_id,
        events.user_id,
        events.event_at,
        events.file_id,
        events.line_no
    from core.fact_events as events
    inner join core_batch on events.message_id = core_batch.message_id
    where events.document_id is not null and events.user_id is not null
),

firsts as (
    select distinct on (document_id)
        document_id,
        user_id as first_user_id
    from document_events
    order by document_id asc, event_at asc, file_id asc, line_no asc
),

spans as (
    select
        document_id,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from document_events
    group by document_id
),

final as (
    select
        spans.document_id,
        firsts.first_user_id,
        spans.first_event_at,
        spans.last_event_at
    from spans
    inner join firsts on spans.document_id = firsts.document_id
)

select * from final

on conflict (document_id) do update set
    first_user_id = case
        when excluded.first_event_at < dim_documents.first_event_at then excluded.first_user_id
        else dim_documents.first_user_id
    end,
    first_event_at = least(dim_documents.first_event_at, excluded.first_event_at),
    last_event_at = greatest(dim_documents.last_event_at, excluded.last_event_at);
