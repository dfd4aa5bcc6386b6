-- grain: one row per landing line of the files loaded but not yet staged (temp table for this run)
create temp table stg_batch on commit drop as

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
    inner join new_files using (file_id)
),

-- lines that were not even JSON text were kept by the loader with the parser's reason
rejected_lines as (
    select
        r.file_id,
        r.line_no,
        null::jsonb as payload,
        r.reason as load_error
    from raw.rejected_lines as r
    inner join new_files using (file_id)
),

all_lines as (
    select * from loaded_lines
    union all
    select * from rejected_lines
),

-- the first rule a line breaks (in this order) is its quarantine reason
checked as (
    select
        *,
        case
            when payload is null then 'invalid_json'
            when jsonb_typeof(payload) <> 'object' then 'not_an_object'
            when
                jsonb_typeof(payload -> 'message_id') is distinct from 'string'
                or payload ->> 'message_id' = ''
                then 'missing_message_id'
            when coalesce(jsonb_typeof(payload -> 'type'), 'null') = 'null' then 'missing_type'
            when
                jsonb_typeof(payload -> 'type') <> 'string'
                or payload ->> 'type' not in ('track', 'identify')
                then 'unknown_type'
            when
                jsonb_typeof(payload -> 'user_id') is distinct from 'string'
                or payload ->> 'user_id' = ''
                then 'missing_user_id'
            when coalesce(jsonb_typeof(payload -> 'timestamp'), 'null') = 'null' then 'missing_timestamp'
            when
                jsonb_typeof(payload -> 'timestamp') <> 'string'
                or payload ->> 'timestamp' !~ '^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$'
                or not staging.is_valid_timestamptz(payload ->> 'timestamp')
                then 'invalid_timestamp'
            when
                payload ->> 'type' = 'track'
                and (jsonb_typeof(payload -> 'event') is distinct from 'string' or payload ->> 'event' = '')
                then 'missing_event'
            when
                payload ->> 'type' = 'track'
                and payload ->> 'event' in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
                and (
                    jsonb_typeof(payload -> 'properties' -> 'mrr_cents') is distinct from 'number'
                    or payload -> 'properties' ->> 'mrr_cents' !~ '^\d{1,15}$'
                )
                then 'invalid_mrr_cents'
            when
                payload ->> 'type' = 'track'
                and payload ->> 'event' = 'feature_used'
                and (
                    jsonb_typeof(payload -> 'properties' -> 'feature') is distinct from 'string'
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
                and payload ->> 'received_at' ~ '^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$'
                and staging.is_valid_timestamptz(payload ->> 'received_at')
                then (payload ->> 'received_at')::timestamptz
        end as received_at
    from checked
)

select * from final;
