-- grain: one row per document id
insert into core.dim_documents (
    document_id, first_user_id, first_event_at, last_event_at, first_file_id, first_line_no
)

with

-- this run's new document events, with their person as fact_events holds it now (as inserted, or as re-attributed
-- later in the same step), read from the run's own tables rather than by a join to all of core.fact_events
batch_documents as (
    select
        inserted.document_id,
        case when moved.message_id is null then inserted.user_id else moved.user_id end as user_id,
        inserted.event_at,
        inserted.file_id,
        inserted.line_no
    from core_inserted as inserted
    left join core_reattributed as moved on inserted.message_id = moved.message_id
    where inserted.document_id is not null
),

-- earlier document events a late link gave a person, or moved to another, this run: merged again with that person
-- (one lookup per moved event)
moved_documents as (
    select
        events.document_id,
        moved.user_id,
        events.event_at,
        events.file_id,
        events.line_no
    from core_reattributed as moved
    inner join core.fact_events as events on moved.message_id = events.message_id
    where events.document_id is not null
),

-- events of persons only (an event of nobody names no first user)
document_events as (
    select * from batch_documents
    where user_id is not null
    union all
    select * from moved_documents
    where user_id is not null
),

spans as (
    select
        document_id,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from document_events
    group by document_id
),

-- the first event: among the events at the earliest time (a hash aggregate above, no sort of all the day's
-- document events), the first in load order
firsts as (
    select distinct on (document_events.document_id)
        document_events.document_id,
        document_events.user_id as first_user_id,
        document_events.file_id as first_file_id,
        document_events.line_no as first_line_no
    from document_events
    inner join spans
        on
            document_events.document_id = spans.document_id
            and document_events.event_at = spans.first_event_at
    order by
        document_events.document_id asc,
        document_events.file_id asc,
        document_events.line_no asc
),

final as (
    select
        spans.document_id,
        firsts.first_user_id,
        spans.first_event_at,
        spans.last_event_at,
        firsts.first_file_id,
        firsts.first_line_no
    from spans
    inner join firsts on spans.document_id = firsts.document_id
)

select * from final

-- the batch's first event replaces the stored one when it comes first in (time, load order), or when it is the
-- stored one (a re-attributed event: the same place, its person now)
on conflict (document_id) do update set
    first_user_id = case
        when (excluded.first_event_at, excluded.first_file_id, excluded.first_line_no)
            <= (dim_documents.first_event_at, dim_documents.first_file_id, dim_documents.first_line_no)
            then excluded.first_user_id
        else dim_documents.first_user_id
    end,
    first_file_id = case
        when (excluded.first_event_at, excluded.first_file_id, excluded.first_line_no)
            <= (dim_documents.first_event_at, dim_documents.first_file_id, dim_documents.first_line_no)
            then excluded.first_file_id
        else dim_documents.first_file_id
    end,
    first_line_no = case
        when (excluded.first_event_at, excluded.first_file_id, excluded.first_line_no)
            <= (dim_documents.first_event_at, dim_documents.first_file_id, dim_documents.first_line_no)
            then excluded.first_line_no
        else dim_documents.first_line_no
    end,
    first_event_at = least(dim_documents.first_event_at, excluded.first_event_at),
    last_event_at = greatest(dim_documents.last_event_at, excluded.last_event_at);
