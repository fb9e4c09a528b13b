-- The old system's projects (`arcd import-legacy`, docs/legacy.md): their
-- printed QR codes hold ids such as 'demo-1763812430225-hr7mysw', which
-- arcd keeps. Every column that holds a project id becomes text, checked
-- for one of the two shapes arcd accepts (include/arcd/id.h says the same
-- in C): a lower-case UUID (arcd's own, 128 random bits) or the old
-- system's letters, millisecond timestamp and base-36 tail, at most 36
-- characters. Existing ids are kept as their lower-case text. "C" collation:
-- ids compare byte by byte (the project list's keyset order).

CREATE FUNCTION arcd_valid_id(id text) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT length(id) <= 36
       AND (id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            OR id ~ '^[a-z]{1,16}-[0-9]{10,16}-[a-z0-9]{4,16}$')
$$;

-- The items' foreign key is made again over the new type.
ALTER TABLE ar_project_items DROP CONSTRAINT ar_project_items_project_id_fkey;
ALTER TABLE ar_projects ALTER COLUMN id TYPE text COLLATE "C" USING id::text;
ALTER TABLE ar_project_items ALTER COLUMN project_id TYPE text COLLATE "C" USING project_id::text;
ALTER TABLE ar_project_items ADD CONSTRAINT ar_project_items_project_id_fkey
    FOREIGN KEY (project_id) REFERENCES ar_projects (id) ON DELETE CASCADE;
ALTER TABLE ar_tombstones ALTER COLUMN id TYPE text COLLATE "C" USING id::text;
ALTER TABLE ar_deliveries ALTER COLUMN project_id TYPE text COLLATE "C" USING project_id::text;

ALTER TABLE ar_projects ADD CONSTRAINT ar_projects_id_shape CHECK (arcd_valid_id(id));
ALTER TABLE ar_tombstones ADD CONSTRAINT ar_tombstones_id_shape CHECK (arcd_valid_id(id));
ALTER TABLE ar_deliveries ADD CONSTRAINT ar_deliveries_project_id_shape
    CHECK (arcd_valid_id(project_id));

-- An imported project: the old system's row and items as they were, and
-- when it came (NULL for arcd's own projects). Its marker.mind is the old
-- one, byte for byte (the prints in customers' hands were made for it): the
-- queue never compiles it again (src/daemon/queue.c).
ALTER TABLE ar_projects ADD COLUMN legacy jsonb;

-- job_kind 'import': the first run of an imported project, the video, viewer
-- and QR stages on the old video (a re-run of one runs the same stages).
ALTER TABLE ar_projects DROP CONSTRAINT ar_projects_job_kind_check;
ALTER TABLE ar_projects ADD CONSTRAINT ar_projects_job_kind_check
    CHECK (job_kind IN ('full', 'video', 'import'));

-- The same function over a project id of text (sql/003's body).
DROP FUNCTION arcd_enqueue_event(uuid, text, text, text, text, jsonb);
CREATE FUNCTION arcd_enqueue_event(p_id text, p_owner text, p_event text, p_url text,
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
        INSERT INTO ar_deliveries (project_id, owner, event, channel, target, snapshot, global)
        VALUES (p_id, p_owner, p_event, 'webhook', global_url, p_doc, true);
    END IF;
    IF p_event = 'project.ready' AND email_on AND coalesce(p_email, '') <> ''
       AND NOT EXISTS (SELECT 1 FROM ar_deliveries d
                       WHERE d.project_id = p_id AND d.channel = 'email'
                         AND d.event = 'project.ready' AND d.target = p_email
                         AND d.failed_at IS NULL) THEN
        INSERT INTO ar_deliveries (project_id, owner, event, channel, target, snapshot)
        VALUES (p_id, p_owner, p_event, 'email', p_email, p_doc);
    END IF;
END
$$;

-- An import's own run tells nobody: the old system told the customer and
-- the shop long ago, and a CRM hearing project.ready for hundreds of old
-- projects might write to each customer again. Later runs of an imported
-- project (a new video, a re-run) are told as any project's.
CREATE OR REPLACE FUNCTION arcd_project_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('ready', 'error') AND NEW.status IS DISTINCT FROM OLD.status
       AND OLD.job_kind IS DISTINCT FROM 'import' THEN
        PERFORM arcd_enqueue_event(NEW.id, NEW.owner, 'project.' || NEW.status,
                                   NEW.notification_url, NEW.notification_email,
                                   arcd_project_doc(NEW));
    END IF;
    RETURN NEW;
END
$$;

-- The status document says when a project was imported (sql/002's, plus
-- imported_at).
CREATE OR REPLACE FUNCTION arcd_project_doc(p ar_projects) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'status', p.status, 'stage', p.stage, 'progress', p.progress,
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
        'notified_at', to_char(p.notified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'imported_at', p.legacy->>'importedAt')
$$;
