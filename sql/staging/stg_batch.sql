-- grain: one row per JSON line (raw.events) of the files loaded but not yet staged; the lines that were not JSON
-- (raw.rejected_lines) go to the quarantine directly (quarantine.sql)
-- temp table: the runner creates it for this run's transaction
-- One query level, so that the whole select runs in parallel workers (transform.STEP_SETTINGS): the file ids as an
-- array (no temp table under the parallel plan), and each lateral `coalesce(row(…))` / `coalesce(…)` a function
-- scan whose columns are computed once per line (a fence that, unlike `offset 0`, does not stop the parallel plan).
with

loaded_lines as (
    select
        raw_events.file_id,
        raw_events.line_no,
        raw_events.payload
    from raw.events as raw_events
    where raw_events.file_id = any(array(select stg_files.file_id from stg_files))
),

-- each field in Segment's camelCase or in snake_case; camelCase wins when both are present (JSON null = absent);
-- ids count only as non-empty strings
fields as (
    select
        loaded_lines.file_id,
        loaded_lines.line_no,
        loaded_lines.payload,
        f.*
    from loaded_lines
    cross join lateral coalesce(row(
        jsonb_typeof(loaded_lines.payload) = 'object',
        -- (the one message-id rule, shared with file corrections)
        staging.event_message_id(loaded_lines.payload),
        nullif(staging.event_string(loaded_lines.payload, 'userId', 'user_id'), ''),
        nullif(staging.event_string(loaded_lines.payload, 'anonymousId', 'anonymous_id'), ''),
        nullif(staging.event_string(loaded_lines.payload, 'previousId', 'previous_id'), ''),
        nullif(staging.event_string(loaded_lines.payload, 'groupId', 'group_id'), ''),
        coalesce(jsonb_typeof(loaded_lines.payload -> 'type'), 'null'),
        loaded_lines.payload ->> 'type',
        coalesce(jsonb_typeof(loaded_lines.payload -> 'event'), 'null'),
        loaded_lines.payload ->> 'event',
        coalesce(jsonb_typeof(loaded_lines.payload -> 'timestamp'), 'null'),
        loaded_lines.payload ->> 'timestamp',
        staging.event_string(loaded_lines.payload, 'receivedAt', 'received_at'),
        -- properties as staging.event_object defines it (a JSON object, else {}), for the checks below
        staging.event_object(loaded_lines.payload, 'properties')
    )) as f (
        is_object boolean, message_id text, user_id text, anonymous_id text, previous_id text, group_id text,
        type_kind text, type_text text, event_kind text, event_text text, timestamp_kind text, timestamp_text text,
        received_at_text text, properties jsonb
    )
),

-- a Segment call type only as a string
typed as (
    select
        *,
        case when type_kind = 'string' then type_text end as call_type
    from fields
),

-- the longest id or key that core indexes (b-tree entries hold ~2,700 bytes, some indexes two such keys), in
-- UTF-8 bytes, as core reads it: an id, or the member as text (`->>`) where core keys rows by it
keyed as (
    select
        *,
        greatest(
            octet_length(message_id),
            octet_length(user_id),
            octet_length(anonymous_id),
            case when call_type = 'alias' then octet_length(previous_id) end,
            case when call_type = 'group' then octet_length(group_id) end,
            octet_length(properties ->> 'document_id'),
            octet_length(payload -> 'context' ->> 'platform'),
            case
                when call_type = 'track' and event_text = 'feature_used' then octet_length(properties ->> 'feature')
            end,
            case
                when
                    call_type = 'track'
                    and event_text in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
                    then octet_length(properties ->> 'plan')
            end,
            case
                when call_type = 'track' and event_text = 'signed_up' then greatest(
                        octet_length(properties ->> 'channel'),
                        octet_length(payload -> 'context' -> 'campaign' ->> 'source')
                    )
            end
        ) as longest_key_bytes
    from typed
),

-- the first rule a line breaks (in this order) is its quarantine reason
checked as (
    select
        keyed.*,
        c.reason
    from keyed
    cross join lateral coalesce(
        case
            when not keyed.is_object then 'not_an_object'
            when keyed.message_id is null then 'missing_message_id'
            when keyed.type_kind = 'null' then 'missing_type'
            when
                keyed.call_type is null
                or keyed.call_type not in ('track', 'identify', 'page', 'screen', 'group', 'alias')
                then 'unknown_type'
            when keyed.user_id is null and keyed.anonymous_id is null then 'missing_user_id'
            when keyed.timestamp_kind = 'null' then 'missing_timestamp'
            when
                keyed.timestamp_kind <> 'string' or not staging.is_valid_timestamptz(keyed.timestamp_text)
                then 'invalid_timestamp'
            when keyed.call_type = 'track' and (keyed.event_kind <> 'string' or keyed.event_text = '')
                then 'missing_event'
            when keyed.call_type = 'alias' and (keyed.user_id is null or keyed.previous_id is null)
                then 'incomplete_alias'
            when keyed.call_type = 'group' and keyed.group_id is null then 'missing_group_id'
            when
                keyed.call_type = 'track'
                and keyed.event_text in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
                and (
                    coalesce(jsonb_typeof(keyed.properties -> 'mrr_cents'), 'null') <> 'number'
                    or keyed.properties ->> 'mrr_cents' !~ '^\d{1,15}$'
                )
                then 'invalid_mrr_cents'
            when
                keyed.call_type = 'track'
                and keyed.event_text = 'feature_used'
                and (
                    coalesce(jsonb_typeof(keyed.properties -> 'feature'), 'null') <> 'string'
                    or keyed.properties ->> 'feature' = ''
                )
                then 'missing_feature'
            -- at most 1,000 bytes each: two such keys and the entry's overhead stay well below the b-tree limit
            when keyed.longest_key_bytes > 1000 then 'id_too_long'
        end
    ) as c (reason)
),

final as (
    select
        file_id,
        line_no,
        reason,
        -- the line itself for the quarantine; a valid line is kept as its typed columns (its properties, traits
        -- and context stay in raw.events.payload: readers take them with staging.event_object)
        case when reason is not null then payload end as payload,
        -- an id that breaks the rule is still shown in the quarantine, as sent
        case
            when is_object then coalesce(
                    message_id, coalesce(nullif(payload -> 'messageId', 'null'), payload -> 'message_id') #>> '{}'
                )
        end as message_id,
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

select * from final
-- in the order the events step reads it (by message id, copies in load order): each worker sorts its share, and
-- the events step's sort then finds the rows already in order
order by message_id, file_id, line_no
