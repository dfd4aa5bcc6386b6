-- grain: one row per pipeline run that recorded a stage or its summary (a plain view: current at any moment)
-- key: run_id
-- kind: view
with

required_stages as (
    -- the stages every successful run records: the DAG's task ids up to the analytics data tests
    select
        required.stage,
        required.position
    from
        unnest(array[
            'load', 'staging', 'core', 'data_tests_core', 'refresh_analytics', 'data_tests_analytics'
        ]) with ordinality as required (stage, position)
),

stages as (
    select
        run_id,
        stage,
        status,
        seconds,
        recorded_at,
        -- the first non-empty line of a failed stage's error; what a successful stage set aside
        substring(detail ->> 'error' from '[^\n]*\S[^\n]*') as error_line,
        detail ->> 'warning' as warning
    from analytics.pipeline_run_stages
),

recorded_runs as (
    select
        run_id,
        dag_id,
        logical_date,
        started_at,
        finished_at
    from analytics.pipeline_runs
),

batches as (
    select
        batch_id,
        run_id
    from raw.load_batches
),

files as (
    select
        file_id,
        batch_id,
        lines_read
    from raw.load_files
),

staged_files as (
    select
        file_id,
        valid_events,
        quarantined,
        duplicates
    from staging.staged_files
),

run_ids as (
    select run_id from stages
    union
    select run_id from recorded_runs
),

stage_totals as (
    select
        run_id,
        min(recorded_at - seconds * interval '1 second') as first_stage_started_at,
        coalesce(sum(seconds), 0) as seconds,
        array_agg(stage order by stage) filter (where status != 'success') as failed_stages,
        string_agg(stage || ': ' || warning, '; ' order by recorded_at) filter (where warning is not null)
            as warnings
    from stages
    group by run_id
),

first_failures as (
    -- each run's earliest failed stage, with the first line of its error
    select distinct on (run_id)
        run_id,
        stage || ': ' || coalesce(btrim(error_line), 'failed') as first_failure
    from stages
    where status != 'success'
    order by run_id, recorded_at, stage
),

missing_stages as (
    select
        run_ids.run_id,
        array_agg(required_stages.stage order by required_stages.position) as missing_stages
    from run_ids
    cross join required_stages
    left join stages
        on run_ids.run_id = stages.run_id and required_stages.stage = stages.stage
    where stages.stage is null
    group by run_ids.run_id
),

file_totals as (
    select
        batches.run_id,
        count(*) as files_loaded,
        coalesce(sum(files.lines_read), 0) as lines_read,
        coalesce(sum(staged_files.valid_events), 0) as events_loaded,
        coalesce(sum(staged_files.quarantined), 0) as quarantined,
        coalesce(sum(staged_files.duplicates), 0) as duplicates
    from files
    inner join batches on files.batch_id = batches.batch_id
    left join staged_files on files.file_id = staged_files.file_id
    group by batches.run_id
),

final as (
    select
        run_ids.run_id,
        recorded_runs.dag_id,
        recorded_runs.logical_date,
        recorded_runs.finished_at,
        coalesce(recorded_runs.started_at, stage_totals.first_stage_started_at) as started_at,
        -- failed: a stage failed, or the run finished (record_run wrote it) without every required stage
        case
            when stage_totals.failed_stages is not null then 'failed'
            when missing_stages.missing_stages is not null and recorded_runs.run_id is not null then 'failed'
            when missing_stages.missing_stages is not null then 'running'
            -- every stage succeeded but something was set aside (e.g. a quarantined landing file)
            when stage_totals.warnings is not null then 'warning'
            else 'success'
        end as status,
        -- one line: the first failed stage and its error, else the first required stage that did not
        -- run, else what was set aside; null for a clean success
        case
            when first_failures.first_failure is not null then left(first_failures.first_failure, 500)
            when missing_stages.missing_stages is not null and recorded_runs.run_id is not null
                then missing_stages.missing_stages[1] || ' did not run'
            when missing_stages.missing_stages is null then left(stage_totals.warnings, 500)
        end as reason,
        coalesce(stage_totals.failed_stages, '{}') as failed_stages,
        coalesce(missing_stages.missing_stages, '{}') as missing_stages,
        coalesce(file_totals.files_loaded, 0)::integer as files_loaded,
        coalesce(file_totals.lines_read, 0)::bigint as lines_read,
        coalesce(file_totals.events_loaded, 0)::bigint as events_loaded,
        coalesce(file_totals.quarantined, 0)::bigint as quarantined,
        coalesce(file_totals.duplicates, 0)::bigint as duplicates,
        coalesce(stage_totals.seconds, 0)::numeric(12, 3) as seconds
    from run_ids
    left join recorded_runs on run_ids.run_id = recorded_runs.run_id
    left join stage_totals on run_ids.run_id = stage_totals.run_id
    left join first_failures on run_ids.run_id = first_failures.run_id
    left join missing_stages on run_ids.run_id = missing_stages.run_id
    left join file_totals on run_ids.run_id = file_totals.run_id
)

select * from final
