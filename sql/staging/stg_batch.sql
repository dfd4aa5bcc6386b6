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

-- lines that were not even JSON text (or not UTF-8) were kept by the loader with the parser's reason
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

-- each field in Segment's camelCase or in snake_case; camelCase wins when both are present (JSON null = absent).
-- offset 0 (here and below): each step's columns are computed once per line, not once per reference
fields as (
    select
        file_id,
        line_no,
        payload,
        load_error,
        jsonb_typeof(payload) = 'object' as is_object,
        coalesce(nullif(payload -> 'messageId', 'null'), payload -> 'message_id') as message_id_json,
        payload -> 'type' as type_json,
        payload -> 'event' as event_json,
        coalesce(nullif(payload -> 'userId', 'null'), payload -> 'user_id') as user_id_json,
        coalesce(nullif(payload -> 'anonymousId', 'null'), payload -> 'anonymous_id') as anonymous_id_json,
        coalesce(nullif(payload -> 'previousId', 'null'), payload -> 'previous_id') as previous_id_json,
        coalesce(nullif(payload -> 'groupId', 'null'), payload -> 'group_id') as group_id_json,
        payload -> 'timestamp' as timestamp_json,
        coalesce(nullif(payload -> 'receivedAt', 'null'), payload -> 'received_at') as received_at_json,
        -- properties as staging.event_object defines it (a JSON object, else {}), for the checks below
        staging.event_object(payload, 'properties') as properties
    from all_lines
    offset 0  -- noqa: AM09
),

-- ids count only as non-empty strings
ids as (
    select
        file_id,
        line_no,
        payload,
        load_error,
        is_object,
        message_id_json #>> '{}' as message_id_text,
        -- (the one message-id rule, shared with file corrections)
        staging.event_message_id(payload) as message_id,
        case when jsonb_typeof(user_id_json) = 'string' then nullif(user_id_json #>> '{}', '') end as user_id,
        case when jsonb_typeof(anonymous_id_json) = 'string' then nullif(anonymous_id_json #>> '{}', '') end
            as anonymous_id,
        case when jsonb_typeof(previous_id_json) = 'string' then nullif(previous_id_json #>> '{}', '') end
            as previous_id,
        case when jsonb_typeof(group_id_json) = 'string' then nullif(group_id_json #>> '{}', '') end as group_id,
        coalesce(jsonb_typeof(type_json), 'null') as type_kind,
        case when jsonb_typeof(type_json) = 'string' then type_json #>> '{}' end as call_type,
        coalesce(jsonb_typeof(event_json), 'null') as event_kind,
        event_json #>> '{}' as event_text,
        coalesce(jsonb_typeof(timestamp_json), 'null') as timestamp_kind,
        timestamp_json #>> '{}' as timestamp_text,
        case when jsonb_typeof(received_at_json) = 'string' then received_at_json #>> '{}' end as received_at_text,
        properties
    from fields
    offset 0  -- noqa: AM09
),

-- the first rule a line breaks (in this order) is its quarantine reason
checked as (
    select
        *,
        case
            when payload is null and load_error like 'not valid UTF-8%' then 'invalid_utf8'
            when payload is null then 'invalid_json'
            when not is_object then 'not_an_object'
            when message_id is null then 'missing_message_id'
            when type_kind = 'null' then 'missing_type'
            when
                call_type is null
                or call_type not in ('track', 'identify', 'page', 'screen', 'group', 'alias')
                then 'unknown_type'
            when user_id is null and anonymous_id is null then 'missing_user_id'
            when timestamp_kind = 'null' then 'missing_timestamp'
            when timestamp_kind <> 'string' or not staging.is_valid_timestamptz(timestamp_text) then 'invalid_timestamp'
            when call_type = 'track' and (event_kind <> 'string' or event_text = '') then 'missing_event'
            when call_type = 'alias' and (user_id is null or previous_id is null) then 'incomplete_alias'
            when call_type = 'group' and group_id is null then 'missing_group_id'
            when
                call_type = 'track'
                and event_text in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
                and (
                    coalesce(jsonb_typeof(properties -> 'mrr_cents'), 'null') <> 'number'
                    or properties ->> 'mrr_cents' !~ '^\d{1,15}$'
                )
                then 'invalid_mrr_cents'
            when
                call_type = 'track'
                and event_text = 'feature_used'
                and (
                    coalesce(jsonb_typeof(properties -> 'feature'), 'null') <> 'string'
                    or properties ->> 'feature' = ''
                )
                then 'missing_feature'
        end as reason
    from ids
    offset 0  -- noqa: AM09
),

final as (
    select
        file_id,
        line_no,
        reason,
        load_error as detail,
        -- the line itself for the quarantine; a valid line is kept as its typed columns (its properties, traits
        -- and context stay in raw.events.payload: readers take them with staging.event_object)
        case when reason is not null then payload end as payload,
        case when is_object then coalesce(message_id, message_id_text) end as message_id,
        case when reason is null then call_type end as event_type,
        case
            when reason is not null then null
            when call_type = 'track' then event_text
            when call_type = 'page' then 'page_viewed'
            when call_type = 'screen' then 'screen_viewed'
        end as event_name,
        case when reason is null then user_id end as user_id,
        case when reason is null then anonymous_id end as anonymous_id,
        case when reason is null and call_type = 'alias' then previous_id end as previous_id,
        case when reason is null and call_type = 'group' then group_id end as group_id,
        case
            when reason is null and call_type in ('page', 'screen') and jsonb_typeof(payload -> 'name') = 'string'
                then payload ->> 'name'
        end as page_name,
        case when reason is null then timestamp_text::timestamptz end as event_at,
        -- received_at is optional: an unusable value is dropped, not a reason to quarantine
        case
            when reason is null and staging.is_valid_timestamptz(received_at_text)
                then received_at_text::timestamptz
        end as received_at
    from checked
)

select * from final;
