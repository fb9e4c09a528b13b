-- The back office: what the CRM knows of a project (title, order, customer,
-- metadata), projects removed (tombstones, so a printed QR code of a deleted
-- or expired project answers "removed" rather than "never existed"), the
-- status document as one function, notifications as an outbox written in
-- the same transaction as the change they tell of, API tokens made and
-- revoked without a restart, and the indexes of the project list.

ALTER TABLE ar_projects
    ADD COLUMN title          text,
    ADD COLUMN order_ref      text,
    ADD COLUMN customer_name  text,
    ADD COLUMN customer_email text,
    ADD COLUMN metadata       jsonb NOT NULL DEFAULT '{}',
    -- The next job's kind: the whole pipeline, or only the videos and the
    -- viewer (a video replaced after the photo was printed).
    ADD COLUMN job_kind       text NOT NULL DEFAULT 'full' CHECK (job_kind IN ('full', 'video')),
    -- With job_kind 'video': the pairs whose video is new (positions).
    ADD COLUMN video_targets  integer[];

-- The list: newest first, by owner or not, keyset pagination on
-- (created_at, id); an order number found at once.
CREATE INDEX ar_projects_created ON ar_projects (created_at DESC, id DESC);
CREATE INDEX ar_projects_owner_created ON ar_projects (owner, created_at DESC, id DESC);
CREATE INDEX ar_projects_order_ref ON ar_projects (order_ref) WHERE order_ref IS NOT NULL;

-- `q` searches title, order and customer with ILIKE; a trigram index makes
-- that an index scan where the pg_trgm extension may be created (it ships
-- with PostgreSQL; creating it needs the right privileges).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX ar_projects_search ON ar_projects USING gin
        ((coalesce(title, '') || ' ' || coalesce(order_ref, '') || ' ' || coalesce(customer_name, ''))
         gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm is not available: searches by q scan the table';
END
$$;

-- The status document's columns, as the API reads them: one definition for
-- the status route, the project list and every notification's snapshot.
CREATE FUNCTION arcd_project_doc(p ar_projects) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.id::text, 'status', p.status, 'stage', p.stage, 'progress', p.progress,
        'error_message', p.error_message, 'is_demo', p.is_demo,
        'expires_at', to_char(p.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'result', p.result, 'timings', p.timings, 'compilation_time_ms', p.compilation_time_ms,
        'photo_width', p.photo_width, 'photo_height', p.photo_height,
        'video_format', p.video_format, 'video_bytes', p.video_bytes, 'video_meta', p.video_meta,
        'fit_mode', p.fit_mode,
        'created_at', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'updated_at', to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'title', p.title, 'order_ref', p.order_ref, 'customer_name', p.customer_name,
        'customer_email', p.customer_email, 'metadata', p.metadata,
        'notify_url', p.notification_url, 'notify_email', p.notification_email,
        'notified_at', to_char(p.notified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;

-- Projects that were removed: deleted through the API, or expired demos
-- the sweep removed.
CREATE TABLE ar_tombstones (
    id         uuid PRIMARY KEY,
    owner      text,
    reason     text NOT NULL CHECK (reason IN ('deleted', 'expired')),
    removed_at timestamptz NOT NULL DEFAULT now()
);

-- Settings every daemon sharing the database agrees on, written by each at
-- start-up: where the global webhook goes, whether email is sent.
CREATE TABLE arcd_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- Notifications: one row per message to send (a webhook to one URL, an
-- email to one address), written by the same statement as the change it
-- tells of (by the triggers below), so that no change is told twice or
-- lost when a daemon dies. A delivery's id is the X-Arcd-Delivery header,
-- the same on every retry. Daemons claim due rows with a lease, as jobs.
CREATE TABLE ar_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id       uuid NOT NULL,  -- no foreign key: it outlives a removed project
    owner            text,
    event            text NOT NULL CHECK (event IN ('project.ready', 'project.error',
                                                    'project.deleted', 'project.expired')),
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    channel          text NOT NULL CHECK (channel IN ('webhook', 'email')),
    target           text NOT NULL,  -- the URL, or the email address
    snapshot         jsonb NOT NULL, -- arcd_project_doc() at the event
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status      integer,        -- the HTTP status or SMTP reply code of the last attempt
    last_error       text,
    delivered_at     timestamptz,
    failed_at        timestamptz,    -- given up (retried for a day)
    lease_owner      text,
    lease_expires_at timestamptz
);
CREATE INDEX ar_deliveries_due ON ar_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX ar_deliveries_project ON ar_deliveries (project_id, occurred_at);

-- The deliveries of one event: the project's own webhook, the global one,
-- and (for project.ready, when email is on) the customer's email.
CREATE FUNCTION arcd_enqueue_event(p_id uuid, p_owner text, p_event text, p_url text,
                                   p_email text, p_doc jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    global_url text := (SELECT value FROM arcd_settings WHERE key = 'webhook_url');
    email_on   boolean := coalesce((SELECT value = 'on' FROM arcd_settings WHERE key = 'email'),
                                   false);
BEGIN
    IF coalesce(p_url, '') <> '' THEN
        INSERT INTO ar_deliveries (project_id, owner, event, channel, target, snapshot)
        VALUES (p_id, p_owner, p_event, 'webhook', p_url, p_doc);
    END IF;
    IF coalesce(global_url, '') <> '' AND global_url IS DISTINCT FROM p_url THEN
        INSERT INTO ar_deliveries (project_id, owner, event, channel, target, snapshot)
        VALUES (p_id, p_owner, p_event, 'webhook', global_url, p_doc);
    END IF;
    IF p_event = 'project.ready' AND email_on AND coalesce(p_email, '') <> '' THEN
        INSERT INTO ar_deliveries (project_id, owner, event, channel, target, snapshot)
        VALUES (p_id, p_owner, p_event, 'email', p_email, p_doc);
    END IF;
END
$$;

-- A project becoming ready or failing tells its listeners.
CREATE FUNCTION arcd_project_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('ready', 'error') AND NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM arcd_enqueue_event(NEW.id, NEW.owner, 'project.' || NEW.status,
                                   NEW.notification_url, NEW.notification_email,
                                   arcd_project_doc(NEW));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER ar_projects_event AFTER UPDATE OF status ON ar_projects
    FOR EACH ROW EXECUTE FUNCTION arcd_project_event();

-- A project removed leaves its tombstone and tells its listeners, with the
-- project as it was.
CREATE FUNCTION arcd_project_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ar_tombstones (id, owner, reason)
    VALUES (OLD.id, OLD.owner, coalesce(current_setting('arcd.removal', true), 'deleted'))
    ON CONFLICT (id) DO NOTHING;
    PERFORM arcd_enqueue_event(OLD.id, OLD.owner,
                               'project.' || coalesce(current_setting('arcd.removal', true),
                                                      'deleted'),
                               OLD.notification_url, NULL, arcd_project_doc(OLD));
    RETURN OLD;
END
$$;
CREATE TRIGGER ar_projects_removed AFTER DELETE ON ar_projects
    FOR EACH ROW EXECUTE FUNCTION arcd_project_removed();

-- New deliveries wake the daemons' senders.
CREATE FUNCTION arcd_notify_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('arcd_deliveries', NEW.id::text);
    RETURN NEW;
END
$$;
CREATE TRIGGER ar_deliveries_new AFTER INSERT ON ar_deliveries
    FOR EACH ROW EXECUTE FUNCTION arcd_notify_delivery();

-- API tokens made with `arcd token create`: only their SHA-256 is kept.
-- Every change wakes the daemons (LISTEN arcd_tokens), which reload them.
CREATE TABLE arcd_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hash       bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    owner      text NOT NULL CHECK (owner <> ''),
    role       text NOT NULL CHECK (role IN ('owner', 'admin')),
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE FUNCTION arcd_notify_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('arcd_tokens', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER arcd_tokens_changed AFTER INSERT OR UPDATE OR DELETE ON arcd_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION arcd_notify_tokens();
