-- grain: one row (or none): the stored model %(model_version)s of kind %(kind)s and its checksum
with

artifacts as (
    select
        model_version,
        kind,
        artifact,
        sha256
    from ml.model_artifacts
)

select
    artifact,
    sha256
from artifacts
where model_version = %(model_version)s and kind = %(kind)s
