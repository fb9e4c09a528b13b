-- arcd's projects, the items of multi-target projects, and the job queue.
-- Applied once by `arcd migrate` (or `arcd serve` at start-up) and recorded in
-- arcd_migrations. A project is its own queue entry: status 'pending' is a
-- job waiting to run, 'processing' one leased by a daemon until
-- lease_expires_at; another daemon takes it over when the lease lapses.

CREATE TABLE ar_projects (
    id                  uuid PRIMARY KEY,            -- 128 random bits, made by the daemon
    owner               text,                        -- the API token's owner
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'processing', 'ready', 'error')),
    stage               text NOT NULL DEFAULT 'queued',
    progress            smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error_message       text,
    is_demo             boolean NOT NULL DEFAULT false,
    expires_at          timestamptz,
    fit_mode            text NOT NULL DEFAULT 'contain'
                        CHECK (fit_mode IN ('contain', 'cover', 'fill', 'exact')),
    scale_width         integer CHECK (scale_width > 0),
    scale_height        integer CHECK (scale_height > 0),
    config              jsonb NOT NULL DEFAULT '{}',
    photo_format        text,
    photo_bytes         bigint,
    photo_width         integer,
    photo_height        integer,
    video_format        text,
    video_bytes         bigint,
    video_meta          jsonb,
    result              jsonb,                       -- the files produced, per stage
    timings             jsonb,                       -- milliseconds per stage
    compilation_time_ms integer,
    notification_email  text,
    notification_url    text,
    notified_at         timestamptz,
    -- the queue
    attempts            integer NOT NULL DEFAULT 0,
    max_attempts        integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
    run_after           timestamptz NOT NULL DEFAULT now(),
    lease_owner         text,
    lease_expires_at    timestamptz,
    started_at          timestamptz,
    finished_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ar_projects_runnable ON ar_projects (run_after, created_at) WHERE status = 'pending';
CREATE INDEX ar_projects_leased ON ar_projects (lease_expires_at) WHERE status = 'processing';
CREATE INDEX ar_projects_expiry ON ar_projects (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE ar_project_items (
    project_id   uuid NOT NULL REFERENCES ar_projects (id) ON DELETE CASCADE,
    position     integer NOT NULL CHECK (position >= 0),
    photo_file   text NOT NULL,
    video_file   text,
    photo_width  integer,
    photo_height integer,
    video_meta   jsonb,
    PRIMARY KEY (project_id, position)
);

-- A new or retried job wakes idle daemons (LISTEN arcd_jobs).
CREATE FUNCTION arcd_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'pending' THEN
        PERFORM pg_notify('arcd_jobs', NEW.id::text);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ar_projects_job AFTER INSERT OR UPDATE OF status, run_after ON ar_projects
    FOR EACH ROW EXECUTE FUNCTION arcd_notify_job();

-- Every change a client can see wakes long polls and event streams on every
-- daemon (LISTEN arcd_status), whichever daemon runs the job.
CREATE FUNCTION arcd_notify_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.stage IS DISTINCT FROM OLD.stage OR NEW.progress IS DISTINCT FROM OLD.progress THEN
        PERFORM pg_notify('arcd_status', NEW.id::text);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ar_projects_status AFTER INSERT OR UPDATE ON ar_projects
    FOR EACH ROW EXECUTE FUNCTION arcd_notify_status();
