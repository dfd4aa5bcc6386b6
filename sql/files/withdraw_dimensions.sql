-- grain: statements; the dimension rows keyed by a feature, document, plan or account that a withdrawn event
-- touched are deleted: the dimension steps' merges (sql/core/dim_*.sql: earliest, latest, first person, latest
-- traits) cannot forget an event, so dimension_batch hands each such key's remaining events to those same steps
delete from core.dim_features
where feature in (select withdrawn_events.feature from withdrawn_events);

delete from core.dim_documents
where document_id in (select withdrawn_events.document_id from withdrawn_events);

delete from core.dim_plans
where plan in (select withdrawn_events.plan from withdrawn_events);

delete from core.dim_accounts
where account_id in (
        select withdrawn_events.group_id
        from withdrawn_events
        where withdrawn_events.event_type = 'group'
    );
