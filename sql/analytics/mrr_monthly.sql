-- grain: one row per month, from the first subscription event to the latest month with activity
-- key: month
with

subscription_events as (
    select
        user_id,
        event_at,
        mrr_cents,
        file_id,
        line_no,
        date_trunc('month', event_at at time zone 'UTC')::date as event_month
    from core.fact_subscription_events
),

bounds as (
    select
        (select min(event_month) from subscription_events) as first_month,
        (select date_trunc('month', max(activity_date))::date from core.fact_daily_user_activity) as last_month
),

months as (
    select generate_series(first_month, last_month, interval '1 month')::date as month
    from bounds
),

-- a user's MRR at a month's end is set by their last subscription event of that month (ties: last loaded)
month_closing_events as (
    select distinct on (user_id, event_month)
        user_id,
        event_month,
        mrr_cents
    from subscription_events
    order by user_id asc, event_month asc, event_at desc, file_id desc, line_no desc
),

subscribers as (
    select
        user_id,
        min(event_month) as first_month
    from month_closing_events
    group by user_id
),

subscriber_months as (
    select
        subscribers.user_id,
        months.month,
        month_closing_events.mrr_cents,
        count(month_closing_events.mrr_cents) over (
            partition by subscribers.user_id order by months.month
        ) as closing_event_group
    from subscribers
    inner join months on subscribers.first_month <= months.month
    left join month_closing_events
        on subscribers.user_id = month_closing_events.user_id and months.month = month_closing_events.event_month
),

-- months without an event carry the last known MRR forward
month_end_mrr as (
    select
        user_id,
        month,
        first_value(mrr_cents) over (partition by user_id, closing_event_group order by month) as mrr_cents
    from subscriber_months
),

with_history as (
    select
        user_id,
        month,
        mrr_cents,
        coalesce(lag(mrr_cents) over by_month, 0) as previous_cents,
        coalesce(max(mrr_cents) over (by_month rows between unbounded preceding and 1 preceding), 0)
            as highest_earlier_cents
    from month_end_mrr
    window by_month as (partition by user_id order by month)
),

movements as (
    select
        month,
        mrr_cents,
        case when previous_cents = 0 and mrr_cents > 0 and highest_earlier_cents = 0 then mrr_cents else 0 end
            as new_cents,
        case when previous_cents = 0 and mrr_cents > 0 and highest_earlier_cents > 0 then mrr_cents else 0 end
            as reactivation_cents,
        case when previous_cents > 0 and mrr_cents > previous_cents then mrr_cents - previous_cents else 0 end
            as expansion_cents,
        case
            when previous_cents > 0 and mrr_cents > 0 and mrr_cents < previous_cents then previous_cents - mrr_cents
            else 0
        end as contraction_cents,
        case when previous_cents > 0 and mrr_cents = 0 then previous_cents else 0 end as churned_cents
    from with_history
),

monthly as (
    select
        month,
        sum(mrr_cents) as mrr_cents,
        count(*) filter (where mrr_cents > 0) as customers,
        sum(new_cents) as new_cents,
        sum(expansion_cents) as expansion_cents,
        sum(contraction_cents) as contraction_cents,
        sum(churned_cents) as churned_cents,
        sum(reactivation_cents) as reactivation_cents
    from movements
    group by month
),

final as (
    select
        months.month,
        (coalesce(monthly.mrr_cents, 0) / 100.0)::numeric(14, 2) as mrr,
        (coalesce(monthly.mrr_cents, 0) * 12 / 100.0)::numeric(14, 2) as arr,
        coalesce(monthly.customers, 0)::integer as customers,
        (coalesce(monthly.new_cents, 0) / 100.0)::numeric(14, 2) as new_mrr,
        (coalesce(monthly.expansion_cents, 0) / 100.0)::numeric(14, 2) as expansion_mrr,
        (coalesce(monthly.contraction_cents, 0) / 100.0)::numeric(14, 2) as contraction_mrr,
        (coalesce(monthly.churned_cents, 0) / 100.0)::numeric(14, 2) as churned_mrr,
        (coalesce(monthly.reactivation_cents, 0) / 100.0)::numeric(14, 2) as reactivation_mrr,
        ((
            coalesce(monthly.new_cents, 0) + coalesce(monthly.reactivation_cents, 0)
            + coalesce(monthly.expansion_cents, 0) - coalesce(monthly.contraction_cents, 0)
            - coalesce(monthly.churned_cents, 0)
        ) / 100.0)::numeric(14, 2) as net_new_mrr
    from months
    left join monthly on months.month = monthly.month
)

select * from final
