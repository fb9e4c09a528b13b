-- The X-Request-Id of the request that queued a project's job (an upload, a
-- new video, a re-run): the daemons' and the workers' log lines of the job
-- carry it, so an operator finds a job's lines from the request's.
ALTER TABLE ar_projects ADD COLUMN request_id text
    CHECK (request_id ~ '^[A-Za-z0-9._:-]{1,64}$');
