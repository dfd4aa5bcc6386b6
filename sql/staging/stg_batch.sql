-- grain: one row per landing line of the files loaded but not yet staged
-- temp table: the runner creates it for this run's transaction
with

new_files as (
    select file_id from stg_files
),

loaded_lines as (
    select
        e.file_id,
        e.line_no,
        e.payload,
        null::text as load_error
    from raw.events as e
    inner join new_files on e.file_id = new_files.file_id
),

-- lines that were not even JSON text were kept by the loader with the parser's reason
rejected_lines as (
    select
        r.file_id,
        r.line_no,
        null::jsonb as payload,
        r.reason as load_error
    from raw.rejected_lines as r
    inner join new_files on r.file_id = new_files.file_id
),

all_lines as (
    select * from loaded_lines
    union all
    select * from rejected_lines
),

-- the first rule a line breaks (in this order) is its quarantine reason; materialized so that the
-- reason is computed once per line, not once per reference below
checked as materialized (
    select
        *,
        case
            when payload is null then 'invalid_json'
            when jsonb_typeof(payload) <> 'object' then 'not_an_object'
            when
                coalesce(jsonb_typeof(payload -> 'message_id'), 'null') <> 'string'
                or payload ->> 'message_id' = ''
                then 'missing_message_id'
            when coalesce(jsonb_typeof(payload -> 'type'), 'null') = 'null' then 'missing_type'
            when
                jsonb_typeof(payload -> 'type') <> 'string'
                or payload ->> 'type' not in ('track', 'identify')
                then 'unknown_type'
            when
                coalesce(jsonb_typeof(payload -> 'user_id'), 'null') <> 'string'
                or payload ->> 'user_id' = ''
                then 'missing_user_id'
            when coalesce(jsonb_typeof(payload -> 'timestamp'), 'null') = 'null' then 'missing_timestamp'
            when
                jsonb_typeof(payload -> 'timestamp') <> 'string'
                or not staging.is_valid_timestamptz(payload ->> 'timestamp')
                then 'invalid_timestamp'
            when
                payload ->> 'type' = 'track'
                and (coalesce(jsonb_typeof(payload -> 'event'), 'null') <> 'string' or payload ->> 'event' = '')
                then 'missing_event'
            when
                payload ->> 'type' = 'track'
                and payload ->> 'event' in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
                and (
                    coalesce(jsonb_typeof(payload -> 'properties' -> 'mrr_cents'), 'null') <> 'number'
                    or payload -> 'properties' ->> 'mrr_cents' !~ '^\d{1,15}$'
                )
                then 'invalid_mrr_cents'
            when
                payload ->> 'type' = 'track'
                and payload ->> 'event' = 'feature_used'
                and (
                    coalesce(jsonb_typeof(payload -> 'properties' -> 'feature'), 'null') <> 'string'
                    or payload -> 'properties' ->> 'feature' = ''
                )
                then 'missing_feature'
        end as reason
    from all_lines
),

final as (
    select
        file_id,
        line_no,
        reason,
        load_error as detail,
        payload,
        case when jsonb_typeof(payload) = 'object' then payload ->> 'message_id' end as message_id,
        case when reason is null then payload ->> 'type' end as event_type,
        case when reason is null and payload ->> 'type' = 'track' then payload ->> 'event' end as event_name,
        case when reason is null then payload ->> 'user_id' end as user_id,
        case when reason is null then (payload ->> 'timestamp')::timestamptz end as event_at,
        -- received_at is optional: an unusable value is dropped, not a reason to quarantine
        case
            when
                reason is null
                and jsonb_typeof(payload -> 'received_at') = 'string'
                and staging.is_valid_timestamptz(payload ->> 'received_at')
                then (payload ->> 'received_at')::timestamptz
        end as received_at
    from checked
)

select * from final;
