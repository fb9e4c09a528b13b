-- What the back office's first weeks taught (after sql/002): a deletion in
-- progress is marked on the row, so that nothing re-queues a project whose
-- folder is being removed; a removal wakes the status routes of every
-- daemon; a change of the back office's fields refreshes their caches; a
-- delivery says whether it went to the shop's global webhook (which a
-- project's owner is not shown); the customer's email is sent once per
-- address, not again on every re-run; and every project has its pairs as
-- rows of ar_project_items, demos too.

-- Set by DELETE /api/ar/projects/:id before the folder goes: from then on
-- the project is gone for every route but DELETE (which finishes a
-- deletion interrupted half-way) and for the queue (run_after 'infinity'),
-- and the expiry sweep finishes one left half-done for long.
ALTER TABLE ar_projects ADD COLUMN deleting_at timestamptz;
CREATE INDEX ar_projects_deleting ON ar_projects (deleting_at) WHERE deleting_at IS NOT NULL;

-- The shop's own webhook (notify.webhookUrl) rather than the project's.
ALTER TABLE ar_deliveries ADD COLUMN global boolean NOT NULL DEFAULT false;
UPDATE ar_deliveries SET global = true
WHERE channel = 'webhook'
  AND target = (SELECT value FROM arcd_settings WHERE key = 'webhook_url')
  AND target IS DISTINCT FROM (SELECT notification_url FROM ar_projects p
                               WHERE p.id = ar_deliveries.project_id);

CREATE OR REPLACE FUNCTION arcd_enqueue_event(p_id uuid, p_owner text, p_event text, p_url text,
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
    -- The customer hears once that the living photo is ready: a re-run or a
    -- new video later changes neither its link nor its QR code. A new
    -- address (notifyEmail changed), or an earlier email given up on, is
    -- written to again.
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

-- A project removed leaves its tombstone, tells its listeners, with the
-- project as it was, and wakes the status routes of every daemon. Why it
-- was removed: 'deleted' for a row marked by DELETE (deleting_at), else the
-- transaction's setting arcd.removal ('expired' for the sweep). A setting
-- once made local in a session reads '' afterwards, not NULL: hence the
-- nullif.
CREATE OR REPLACE FUNCTION arcd_project_removed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    reason text := CASE WHEN OLD.deleting_at IS NOT NULL THEN 'deleted'
                        ELSE coalesce(nullif(current_setting('arcd.removal', true), ''),
                                      'deleted') END;
BEGIN
    INSERT INTO ar_tombstones (id, owner, reason)
    VALUES (OLD.id, OLD.owner, reason)
    ON CONFLICT (id) DO NOTHING;
    PERFORM arcd_enqueue_event(OLD.id, OLD.owner, 'project.' || reason,
                               OLD.notification_url, NULL, arcd_project_doc(OLD));
    PERFORM pg_notify('arcd_status', OLD.id::text);
    RETURN OLD;
END
$$;

-- The status routes keep a short-lived cache of each project's document,
-- kept exact by NOTIFY arcd_status (sql/001): the back office's fields are
-- in that document too, so a change of theirs notifies as well.
CREATE OR REPLACE FUNCTION arcd_notify_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR (NEW.status, NEW.stage, NEW.progress, NEW.is_demo, NEW.expires_at, NEW.result,
           NEW.title, NEW.order_ref, NEW.customer_name, NEW.customer_email, NEW.metadata,
           NEW.notification_url, NEW.notification_email, NEW.notified_at, NEW.fit_mode,
           NEW.deleting_at)
          IS DISTINCT FROM
          (OLD.status, OLD.stage, OLD.progress, OLD.is_demo, OLD.expires_at, OLD.result,
           OLD.title, OLD.order_ref, OLD.customer_name, OLD.customer_email, OLD.metadata,
           OLD.notification_url, OLD.notification_email, OLD.notified_at, OLD.fit_mode,
           OLD.deleting_at) THEN
        PERFORM pg_notify('arcd_status', NEW.id::text);
    END IF;
    RETURN NEW;
END
$$;

-- Every project has its pairs as rows of ar_project_items (a demo's one
-- pair too, from now on): the ones made before get theirs.
INSERT INTO ar_project_items (project_id, position, photo_file, video_file)
SELECT p.id, 0, 'photo.' || p.photo_format,
       CASE WHEN p.video_format IS NOT NULL THEN 'video.' || p.video_format END
FROM ar_projects p
WHERE p.photo_format IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ar_project_items i WHERE i.project_id = p.id);
