-- grain: one row per quarantine reason, most frequent first
with

quarantined as (
    select reason from staging.quarantine
),

final as (
    select
        reason,
        count(*) as n
    from quarantined
    group by reason
)

select * from final
order by n desc, reason asc
