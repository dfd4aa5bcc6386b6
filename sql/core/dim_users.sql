-- grain: one row per person; merges this run's events (new or re-attributed) into what core already knows
-- A person who lost events to another (a late link re-attributed them) is rebuilt from all their events.
delete from core.dim_users as users
using (
    select distinct previous_user_id as user_id
    from core_changes
    where previous_user_id is not null
) as lost
where users.user_id = lost.user_id;

insert into core.dim_users (
    user_id, signup_at, signup_date, acquisition_channel, first_seen_at, last_seen_at,
    company, country, email_domain, traits_updated_at, first_platform, first_platform_at
)

with

lost as (
    select distinct previous_user_id as user_id
    from core_changes
    where previous_user_id is not null
),

-- this run's events of persons who only gained events: merged into their row below (core_changes carries
-- the columns read here, so the day's events are not looked up again in fact_events)
gained as (
    select
        changes.message_id,
        changes.user_id,
        changes.event_type,
        changes.event_name,
        changes.event_at,
        changes.platform,
        changes.file_id,
        changes.line_no
    from core_changes as changes
    where
        changes.user_id is not null
        and not exists (
            select 1 from lost
            where lost.user_id = changes.user_id
        )
),

rebuilt as (
    select
        events.message_id,
        events.user_id,
        events.event_type,
        events.event_name,
        events.event_at,
        events.platform,
        events.file_id,
        events.line_no
    from core.fact_events as events
    inner join lost on events.user_id = lost.user_id
),

batch as (
    select * from gained
    union all
    select * from rebuilt
),

seen as (
    select
        user_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from batch
    group by user_id
),

-- the earliest signed_up defines the signup (and its acquisition channel: properties.channel, else the campaign);
-- the few signed_up and identify events fetch their properties by message_id, their traits and context from
-- their raw line (raw's key; staging.event_object: the object, else {})
signups as (
    select distinct on (batch.user_id)
        batch.user_id,
        batch.event_at as signup_at,
        coalesce(
            events.properties ->> 'channel',
            staging.event_object(raw_lines.payload, 'context') -> 'campaign' ->> 'source'
        ) as acquisition_channel
    from batch
    inner join core.fact_events as events on batch.message_id = events.message_id
    inner join raw.events as raw_lines on batch.file_id = raw_lines.file_id and batch.line_no = raw_lines.line_no
    where batch.event_type = 'track' and batch.event_name = 'signed_up'
    order by batch.user_id asc, batch.event_at asc, batch.file_id asc, batch.line_no asc
),

-- the latest identify carries the current traits; the email is reduced to its domain
identifies as (
    select distinct on (batch.user_id)
        batch.user_id,
        batch.event_at as traits_updated_at,
        staging.event_object(raw_lines.payload, 'traits') ->> 'company' as company,
        staging.event_object(raw_lines.payload, 'traits') ->> 'country' as country,
        nullif(lower(split_part(staging.event_object(raw_lines.payload, 'traits') ->> 'email', '@', 2)), '')
            as email_domain
    from batch
    inner join raw.events as raw_lines on batch.file_id = raw_lines.file_id and batch.line_no = raw_lines.line_no
    where batch.event_type = 'identify'
    order by batch.user_id asc, batch.event_at desc, batch.file_id desc, batch.line_no desc
),

-- the platform of a person's earliest event with one: the earliest time per person first (a hash
-- aggregate, no sort of the day's events), then the first in load order among the events at that time
first_platform_at as (
    select
        user_id,
        min(event_at) as event_at
    from batch
    where platform is not null
    group by user_id
),

first_platforms as (
    select distinct on (batch.user_id)
        batch.user_id,
        batch.platform as first_platform,
        batch.event_at as first_platform_at
    from batch
    inner join first_platform_at
        on batch.user_id = first_platform_at.user_id and batch.event_at = first_platform_at.event_at
    where batch.platform is not null
    order by batch.user_id asc, batch.event_at asc, batch.file_id asc, batch.line_no asc
),

final as (
    select
        seen.user_id,
        signups.signup_at,
        (signups.signup_at at time zone 'UTC')::date as signup_date,
        signups.acquisition_channel,
        seen.first_seen_at,
        seen.last_seen_at,
        identifies.company,
        identifies.country,
        identifies.email_domain,
        identifies.traits_updated_at,
        first_platforms.first_platform,
        first_platforms.first_platform_at
    from seen
    left join signups on seen.user_id = signups.user_id
    left join identifies on seen.user_id = identifies.user_id
    left join first_platforms on seen.user_id = first_platforms.user_id
)

select * from final

-- late events can move a signup earlier; a newer identify replaces all three traits (the latest identify's
-- traits, a trait it leaves out included); an earlier event with a platform replaces the first platform
on conflict (user_id) do update set
    signup_at = case
        when dim_users.signup_at is null or excluded.signup_at < dim_users.signup_at then excluded.signup_at
        else dim_users.signup_at
    end,
    signup_date = case
        when dim_users.signup_at is null or excluded.signup_at < dim_users.signup_at then excluded.signup_date
        else dim_users.signup_date
    end,
    acquisition_channel = case
        when dim_users.signup_at is null or excluded.signup_at < dim_users.signup_at
            then excluded.acquisition_channel
        else dim_users.acquisition_channel
    end,
    first_seen_at = least(dim_users.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(dim_users.last_seen_at, excluded.last_seen_at),
    company = case
        when excluded.traits_updated_at >= coalesce(dim_users.traits_updated_at, '-infinity')
            then excluded.company
        else dim_users.company
    end,
    country = case
        when excluded.traits_updated_at >= coalesce(dim_users.traits_updated_at, '-infinity')
            then excluded.country
        else dim_users.country
    end,
    email_domain = case
        when excluded.traits_updated_at >= coalesce(dim_users.traits_updated_at, '-infinity')
            then excluded.email_domain
        else dim_users.email_domain
    end,
    traits_updated_at = greatest(dim_users.traits_updated_at, excluded.traits_updated_at),
    first_platform = case
        when excluded.first_platform_at < coalesce(dim_users.first_platform_at, 'infinity')
            then excluded.first_platform
        else dim_users.first_platform
    end,
    first_platform_at = least(dim_users.first_platform_at, excluded.first_platform_at),
    updated_at = now();
