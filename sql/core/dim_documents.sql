-- grain: one row per document id
insert into core.dim_documents (document_id, first_user_id, first_event_at, last_event_at)

with

-- this run's new document events of persons (events of nobody name no first user): the batch's events with
-- their person as fact_events holds it now (as inserted, or as re-attributed later in the same step), read from
-- the run's own tables rather than by a join to all of core.fact_events
batch_documents as (
    select
        batch.document_id,
        case when moved.message_id is null then inserted.user_id else moved.user_id end as user_id,
        batch.event_at,
        batch.file_id,
        batch.line_no
    from core_batch as batch
    inner join core_inserted as inserted on batch.message_id = inserted.message_id
    left join core_reattributed as moved on batch.message_id = moved.message_id
    where batch.document_id is not null
),

document_events as (
    select * from batch_documents
    where user_id is not null
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
