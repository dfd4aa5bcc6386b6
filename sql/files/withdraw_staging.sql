-- grain: statements; remove the staging rows of the files to re-stage (the next staging steps re-stage them)
delete from staging.duplicates as duplicates
using withdrawn_files
where duplicates.file_id = withdrawn_files.file_id;

delete from staging.quarantine as quarantine
using withdrawn_files
where quarantine.file_id = withdrawn_files.file_id;

delete from staging.events as events
using withdrawn_files
where events.file_id = withdrawn_files.file_id;

delete from staging.staged_files as staged
using withdrawn_files
where staged.file_id = withdrawn_files.file_id;
