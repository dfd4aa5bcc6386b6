-- grain: one row per loaded file: check_files in a full sweep
-- temp view: the data-test runner creates it as check_files, so the tests read the registry itself
select files.file_id
from raw.load_files as files
