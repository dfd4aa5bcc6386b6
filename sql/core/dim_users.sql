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
    company, country, email_domain, traits_updated_at, first_platform
)

with

lost as (
    select distinct previous_user_id as user_id
    from core_changes
    where previous_user_id is not null
),

-- this run's events of persons who only gained events: merged into their row below
gained as (
    select changes.message_id
    from core_changes as changes
    where
        changes.user_id is not null
        and not exists (
            select 1 from lost
            where lost.user_id = changes.user_id
        )
),

rebuilt as (
    select events.message_id
    from core.fact_events as events
    inner join lost on events.user_id = lost.user_id
),

source_events as (
    select message_id from gained
    union all
    select message_id from rebuilt
),

batch as (
    select
        events.user_id,
        events.event_type,
        events.event_name,
        events.event_at,
        events.platform,
        events.properties,
        events.file_id,
        events.line_no,
        staged.traits,
        staged.context
    from source_events
    inner join core.fact_events as events on source_events.message_id = events.message_id
    inner join staging.events as staged on source_events.message_id = staged.message_id
),

seen as (
    select
        user_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from batch
    group by user_id
),

-- the earliest signed_up defines the signup (and its acquisition channel: properties.channel, else the campaign)
signups as (
    select distinct on (user_id)
        user_id,
        event_at as signup_at,
        coalesce(properties ->> 'channel', context -> 'campaign' ->> 'source') as acquisition_channel
    from batch
    where event_type = 'track' and event_name = 'signed_up'
    order by user_id asc, event_at asc, file_id asc, line_no asc
),

-- the latest identify carries the current traits; the email is reduced to its domain
identifies as (
    select distinct on (user_id)
        user_id,
        event_at as traits_updated_at,
        traits ->> 'company' as company,
        traits ->> 'country' as country,
        nullif(lower(split_part(traits ->> 'email', '@', 2)), '') as email_domain
    from batch
    where event_type = 'identify'
    order by user_id asc, event_at desc, file_id desc, line_no desc
),

first_platforms as (
    select distinct on (user_id)
        user_id,
        platform as first_platform
    from batch
    where platform is not null
    order by user_id asc, event_at asc, file_id asc, line_no asc
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
        first_platforms.first_platform
    from seen
    left join signups on seen.user_id = signups.user_id
    left join identifies on seen.user_id = identifies.user_id
    left join first_platforms on seen.user_id = first_platforms.user_id
)

select * from final

-- late events can move a signup earlier; newer identifies replace older traits
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
            then coalesce(excluded.company, dim_users.company)
        else coalesce(dim_users.company, excluded.company)
    end,
    country = case
        when excluded.traits_updated_at >= coalesce(dim_users.traits_updated_at, '-infinity')
            then coalesce(excluded.country, dim_users.country)
        else coalesce(dim_users.country, excluded.country)
    end,
    email_domain = case
        when excluded.traits_updated_at >= coalesce(dim_users.traits_updated_at, '-infinity')
            then coalesce(excluded.email_domain, dim_users.email_domain)
        else coalesce(dim_users.email_domain, excluded.email_domain)
    end,
    traits_updated_at = greatest(dim_users.traits_updated_at, excluded.traits_updated_at),
    first_platform = case
        when excluded.first_seen_at < dim_users.first_seen_at
            then coalesce(excluded.first_platform, dim_users.first_platform)
        else coalesce(dim_users.first_platform, excluded.first_platform)
    end,
    updated_at = now();
