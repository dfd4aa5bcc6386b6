-- grain: one row per account (the groupId of group calls); the latest group call's traits describe it
insert into core.dim_accounts (account_id, account_name, first_seen_at, last_seen_at, traits, traits_updated_at)

with

group_calls as (
    select
        group_id,
        event_at,
        traits,
        file_id,
        line_no
    from core_batch
    where event_type = 'group'
),

latest as (
    select distinct on (group_id)
        group_id,
        traits,
        event_at as traits_updated_at
    from group_calls
    order by group_id asc, event_at desc, file_id desc, line_no desc
),

spans as (
    select
        group_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from group_calls
    group by group_id
),

final as (
    select
        spans.group_id as account_id,
        latest.traits ->> 'name' as account_name,
        spans.first_seen_at,
        spans.last_seen_at,
        latest.traits,
        latest.traits_updated_at
    from spans
    inner join latest on spans.group_id = latest.group_id
)

select * from final

-- a newer group call's traits replace older ones, its name included (a call without a name leaves the account
-- without one, as one run over the same calls does); a late older call only widens the span
on conflict (account_id) do update set
    account_name = case
        when excluded.traits_updated_at >= dim_accounts.traits_updated_at then excluded.account_name
        else dim_accounts.account_name
    end,
    traits = case
        when excluded.traits_updated_at >= dim_accounts.traits_updated_at then excluded.traits
        else dim_accounts.traits
    end,
    traits_updated_at = greatest(dim_accounts.traits_updated_at, excluded.traits_updated_at),
    first_seen_at = least(dim_accounts.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(dim_accounts.last_seen_at, excluded.last_seen_at);
