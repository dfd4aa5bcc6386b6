-- one row per quarantine reason: lines quarantined from the files loaded in the period
with

quarantined as (
    select
        reason,
        quarantined_lines
    from analytics.quarantine_reasons
    where
        true
        [[and loaded_date >= {{start_date}}::date]]
        [[and loaded_date <= {{end_date}}::date]]
),

final as (
    select
        reason,
        sum(quarantined_lines) as quarantined_lines
    from quarantined
    group by reason
)

select * from final
order by quarantined_lines desc, reason asc
