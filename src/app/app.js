// The operator's web app: sign in with an API token, make a living photo
// (upload with its progress, the job's stages live, the result to print),
// and find the shop's projects. Plain modules, no build step; every string
// from i18n.js.
import { Api, ApiError } from './api.js';
import { apply, language, preferred, setLanguage, t } from './i18n.js';

const STAGES = ['photo', 'border', 'marker', 'features', 'video', 'viewer', 'qr', 'sheet'];
const $ = (id) => document.getElementById(id);
const show = (id, on = true) => { $(id).hidden = !on; };

let api = null;
let current = null; // the project shown in progress or result: its status
let watching = null; // AbortController of the events being read
let cursor = null; // the project list's next page

// ---- language ----

function chooseLanguage() {
  const saved = localStorage.getItem('arcd.lang');
  setLanguage(saved || preferred(navigator.languages));
  apply();
  // The other language's name, in that language (and read so).
  $('lang').textContent = t('language');
  $('lang').lang = language() === 'ru' ? 'en' : 'ru';
  $('lang').title = t('languageLabel');
  if (current) renderStatus(current);
  pairsChanged();
  fitPreview();
}

$('lang').addEventListener('click', () => {
  localStorage.setItem('arcd.lang', language() === 'ru' ? 'en' : 'ru');
  chooseLanguage();
  if (!$('projects').hidden) loadProjects(true);
});

// ---- signing in ----

function signedIn(on) {
  show('signin', !on);
  show('tabs', on);
  show('signout', on);
  if (on) openTab('create');
  else ['create', 'progress', 'result', 'projects'].forEach((id) => show(id, false));
}

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  $('signin-error').textContent = '';
  try {
    await new Api(token).json('GET', '/api/ar/projects?limit=1');
  } catch (err) {
    $('signin-error').textContent =
      err instanceof ApiError && err.status === 401 ? t('badToken') : t('noServer', { reason: err.message });
    $('token').focus();
    return;
  }
  sessionStorage.setItem('arcd.token', token);
  api = new Api(token);
  $('token').value = '';
  signedIn(true);
  $('photo').focus();
});

$('signout').addEventListener('click', () => {
  if (watching) watching.abort();
  sessionStorage.removeItem('arcd.token');
  api = null;
  current = null;
  signedIn(false);
  $('token').focus();
});

// ---- tabs ----

function openTab(name) {
  for (const tab of ['create', 'projects']) {
    const on = tab === name;
    if (on) $(`tab-${tab}`).setAttribute('aria-current', 'page');
    else $(`tab-${tab}`).removeAttribute('aria-current');
  }
  show('projects', name === 'projects');
  show('create', name === 'create' && !current);
  show('progress', name === 'create' && current && !['ready', 'error'].includes(current.status));
  show('result', name === 'create' && current && ['ready', 'error'].includes(current.status));
  if (name === 'projects') loadProjects(true);
}

$('tab-create').addEventListener('click', () => openTab('create'));
$('tab-projects').addEventListener('click', () => openTab('projects'));

// ---- the form: files, previews, drops ----

function preview(input, el) {
  const file = input.files[0];
  if (el.src) URL.revokeObjectURL(el.src);
  el.hidden = !file;
  if (file) el.src = URL.createObjectURL(file);
}

// A pair's photo and video inputs: previews, drag-and-drop. suffix is ""
// for the first pair, "-2" ... for the others.
function wirePair(suffix) {
  for (const kind of ['photo', 'video']) {
    const input = $(`${kind}${suffix}`), drop = $(`${kind}${suffix}-drop`), el = $(`${kind}${suffix}-preview`);
    input.addEventListener('change', () => { preview(input, el); fitPreview(); });
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      if (e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        preview(input, el);
        fitPreview();
      }
    });
  }
}

const MAX_PAIRS = 8;
let pairs = 1;

// Pair n (2 and on): the first pair's markup with its own ids and labels.
function addPair() {
  const n = pairs + 1, first = document.querySelector('.pair[data-pair="1"]');
  const pair = first.cloneNode(true);
  pair.dataset.pair = String(n);
  for (const el of pair.querySelectorAll('[id]')) el.id = el.id.replace(/^(photo|video)/, `$1-${n}`);
  for (const label of pair.querySelectorAll('label')) {
    label.htmlFor = label.htmlFor.replace(/^(photo|video)/, `$1-${n}`);
    label.dataset.i18n = label.htmlFor.startsWith('photo') ? 'photoN' : 'videoN';
    label.dataset.n = String(n);
  }
  for (const input of pair.querySelectorAll('input')) input.value = '';
  for (const el of pair.querySelectorAll('.preview')) { el.hidden = true; el.removeAttribute('src'); }
  $('pairs').append(pair);
  pairs = n;
  apply(pair);
  wirePair(`-${n}`);
  pairsChanged();
  $(`photo-${n}`).focus();
}

function pairsChanged() {
  show('add-pair', pairs < MAX_PAIRS);
  show('remove-pair', pairs > 1);
  // Several pairs make one permanent project (the demo route takes one).
  $('kind-demo').disabled = pairs > 1;
  if (pairs > 1) $('kind-permanent').checked = true;
  $('pairs-hint').textContent = pairs > 1 ? t('pairsHint', { n: pairs }) : '';
}

$('add-pair').addEventListener('click', addPair);
$('remove-pair').addEventListener('click', () => {
  document.querySelector(`.pair[data-pair="${pairs}"]`).remove();
  pairs--;
  pairsChanged();
  $('add-pair').focus();
});

// The first pair's video over its photo, placed as the fit mode will.
function fitPreview() {
  const photo = $('photo').files[0], video = $('video').files[0];
  show('fit-figure', Boolean(photo && video));
  if (!photo || !video) return;
  if ($('fit-photo').dataset.name !== photo.name + photo.size) {
    $('fit-photo').src = $('photo-preview').src;
    $('fit-photo').dataset.name = photo.name + photo.size;
  }
  if ($('fit-video').dataset.name !== video.name + video.size) {
    $('fit-video').src = $('video-preview').src;
    $('fit-video').dataset.name = video.name + video.size;
  }
  $('fit-video').style.objectFit = $('fitMode').value;
  $('fit-photo').alt = t('fitPhotoAlt');
}

wirePair('');
$('fitMode').addEventListener('change', fitPreview);

function bytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}

$('create-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('create-error').textContent = '';
  const form = new FormData();
  for (let n = 1; n <= pairs; n++) {
    const suffix = n === 1 ? '' : `-${n}`;
    const photo = $(`photo${suffix}`).files[0], video = $(`video${suffix}`).files[0];
    if (!photo || !video) {
      $('create-error').textContent = t('needFiles');
      $(`${photo ? 'video' : 'photo'}${suffix}`).focus();
      return;
    }
    // Each photo followed by its video: the pairs in order.
    form.append('photo', photo);
    form.append('video', video);
  }
  form.append('fitMode', $('fitMode').value);
  if (!$('border').checked) form.append('config', JSON.stringify({ border: false }));
  for (const name of ['title', 'orderRef', 'customerName', 'customerEmail']) {
    const v = $(name).value.trim();
    if (v) form.append(name, v);
  }
  const demo = $('kind-demo').checked && pairs === 1;
  $('create-button').disabled = true;
  current = { status: 'uploading', progress: 0, stage: 'upload' };
  show('create', false);
  show('progress');
  resetStages();
  setUpload(0, 0, 1);
  try {
    const created = await api.upload(demo ? '/api/ar/create-demo' : '/api/ar/create', form,
                                     (sent, total) => setUpload(Math.floor((sent * 100) / total), sent, total));
    setUpload(100, 1, 1, true);
    current = created;
    await watch(created.arId);
  } catch (err) {
    show('progress', false);
    show('create');
    current = null;
    $('create-error').textContent = t('uploadFailed', { reason: err.message });
  } finally {
    $('create-button').disabled = false;
  }
});

// ---- progress ----

function setUpload(percent, sent, total, done = false) {
  $('upload-bar').value = percent;
  $('upload-label').textContent = done ? t('uploaded')
    : t('uploading', { percent, sent: bytes(sent), total: bytes(total) });
  if (done || percent % 25 === 0) $('live').textContent = $('upload-label').textContent;
}

function resetStages() {
  const list = $('stages');
  list.replaceChildren(...STAGES.map((s) => {
    const li = document.createElement('li');
    li.id = `stage-${s}`;
    li.dataset.state = 'waiting';
    li.textContent = t('stageWaiting', { stage: t(`stage_${s}`) });
    return li;
  }));
  $('job-bar').value = 0;
  $('job-label').textContent = t('queued');
}

function renderProgress(st) {
  $('job-bar').value = st.progress || 0;
  const at = STAGES.indexOf(st.stage);
  $('job-label').textContent = at < 0 && st.status === 'pending' ? t('queued')
    : t('working', { percent: st.progress || 0 });
  STAGES.forEach((s, i) => {
    const li = $(`stage-${s}`);
    const ms = st.timings && st.timings[s];
    const state = ms !== undefined || (at >= 0 && i < at) || st.status === 'ready' ? 'done'
      : i === at ? 'running' : 'waiting';
    li.dataset.state = state;
    li.textContent = state === 'done' && ms !== undefined
      ? t('stageDone', { stage: t(`stage_${s}`), seconds: (ms / 1000).toFixed(1) })
      : t(state === 'running' ? 'stageRunning' : 'stageWaiting', { stage: t(`stage_${s}`) });
  });
  const label = at >= 0 ? t(`stage_${STAGES[at]}`) : $('job-label').textContent;
  if ($('live').dataset.last !== label) {
    $('live').dataset.last = label;
    $('live').textContent = label;
  }
}

async function watch(id) {
  if (watching) watching.abort();
  watching = new AbortController();
  let last;
  try {
    last = await api.events(id, (st) => { current = st; renderProgress(st); }, watching.signal);
  } catch (err) {
    if (err.name === 'AbortError') return;
    throw err;
  }
  // The last event is the row; the status document has every URL.
  current = await api.json('GET', `/api/ar/status/${encodeURIComponent(id)}`).catch(() => last);
  renderProgress(current);
  showResult(current);
}

// ---- the result ----

function warningText(w) {
  const keys = [['few distinctive', 'warn_few'], ['details cover', 'warn_cover'],
                ['tracking points', 'warn_tracking'], ['low contrast', 'warn_contrast']];
  for (const [needle, key] of keys) if (w.includes(needle)) return t(key);
  return t('warn_other', { text: w });
}

function link(id, url) {
  const a = $(id);
  a.hidden = !url;
  if (url) a.href = url;
  else a.removeAttribute('href');
}

function renderStatus(st) {
  if (!st || !['ready', 'error'].includes(st.status)) return;
  const ok = st.status === 'ready';
  $('result-title').textContent = t(ok ? 'readyTitle' : 'errorTitle');
  $('result-error').textContent = ok ? '' : t('failed', { reason: st.errorMessage || '?' });
  const r = st.rating || {};
  $('stars').textContent = ok && r.stars !== undefined
    ? `${'★'.repeat(r.stars)}${'☆'.repeat(5 - r.stars)} ${t('stars', { stars: r.stars })}` : '';
  $('warnings').replaceChildren(...(r.warnings || []).map((w) => {
    const li = document.createElement('li');
    li.textContent = warningText(w);
    return li;
  }));
  $('manage-facts').textContent = [t(st.isDemo ? 'demo' : 'permanent'),
                                    st.targets ? t('targets', { n: st.targets.length }) : '',
                                    st.expiresAt ? t('expires', { date: when(st.expiresAt) }) : '']
    .filter(Boolean).join(' · ');
  $('make-permanent').hidden = !st.isDemo;
  $('extend').hidden = !st.isDemo;
  $('print-img').alt = t('printAlt');
  $('features-img').alt = t('featuresAlt');
  $('qr-img').alt = t('qrAlt', { url: st.viewUrl });
}

function showResult(st) {
  show('progress', false);
  show('result');
  const ok = st.status === 'ready';
  for (const [id, url] of [['print-img', st.enhancedPhotoUrl], ['qr-img', st.qrCodeUrl]]) {
    $(id).hidden = !ok || !url;
    if (ok && url) $(id).src = url;
  }
  $('features-img').hidden = true;
  $('show-features').checked = false;
  $('show-features').disabled = !st.featuresUrl;
  link('dl-print', ok && (st.printUrl || st.enhancedPhotoUrl));
  link('dl-sheet', ok && st.printSheetUrl);
  link('dl-qr-png', ok && st.qrCodeUrl);
  link('dl-qr-svg', ok && st.qrCodeUrl && st.qrCodeUrl.replace(/\.png$/, '.svg'));
  link('open-viewer', ok && st.viewUrl);
  show('copy-link', ok);
  // A failed job has no print to show, and Retry is its one way on (Manage's
  // Run again would say the same).
  show('print-figure', ok);
  show('retry', !ok);
  show('rerun', ok);
  $('copied').textContent = '';
  $('manage-message').textContent = '';
  show('manage', Boolean(st.arId));
  renderStatus(st);
  loadDeliveries(st.arId);
  $('result-title').focus();
}

$('show-features').addEventListener('change', () => {
  const img = $('features-img');
  if ($('show-features').checked && current && current.featuresUrl) img.src = current.featuresUrl;
  img.hidden = !$('show-features').checked;
});

$('copy-link').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(current.viewUrl);
    $('copied').textContent = t('copied');
  } catch {
    $('copied').textContent = current.viewUrl;
  }
});

const rerun = (id) => api.json('POST', `/api/ar/projects/${encodeURIComponent(id)}/rerun`);

$('retry').addEventListener('click', () => {
  const id = current.arId;
  follow(id, () => rerun(id), 'result-error', 'failed');
});

// ---- managing a project ----

// Runs action (a request), says what came of it, and shows the project again.
async function manage(action, said) {
  const id = current.arId;
  try {
    const js = await action(id);
    current = await api.json('GET', `/api/ar/status/${encodeURIComponent(id)}`);
    renderStatus(current);
    // Said once the facts above show the change.
    $('manage-message').textContent = typeof said === 'function' ? said(js) : t(said);
  } catch (err) {
    $('manage-message').textContent = t('actionFailed', { reason: err.message });
  }
}

$('make-permanent').addEventListener('click', () =>
  manage((id) => api.json('PATCH', `/api/ar/projects/${encodeURIComponent(id)}`, { isDemo: false }), 'madePermanent'));

$('extend').addEventListener('click', () => {
  const from = Math.max(Date.now(), current.expiresAt ? Date.parse(current.expiresAt) : 0);
  const until = new Date(from + 7 * 86400 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  manage((id) => api.json('PATCH', `/api/ar/projects/${encodeURIComponent(id)}`, { expiresAt: until }),
         (js) => t('extended', { date: when(js.expiresAt) }));
});

// The stages afresh (the upload done), then job id followed to its result.
async function watchAgain(id) {
  show('result', false);
  show('progress');
  resetStages();
  setUpload(100, 1, 1, true);
  await watch(id);
}

// A new job on the project (a re-run, a new video) started by start(): its
// progress, then the result; a refusal or a lost connection is said in the
// element box.
async function follow(id, start, box = 'manage-message', key = 'actionFailed') {
  try {
    await start();
    current = { arId: id, status: 'pending', progress: 0, stage: 'queued' };
    await watchAgain(id);
  } catch (err) {
    // The box is in the result, which the progress may have replaced.
    show('progress', false);
    show('result');
    $(box).textContent = t(key, { reason: err.message });
  }
}

$('rerun').addEventListener('click', () => {
  const id = current.arId;
  follow(id, () => rerun(id));
});

$('replace-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const file = $('new-video').files[0];
  if (!file) {
    $('manage-message').textContent = t('needFiles');
    return;
  }
  const id = current.arId, form = new FormData();
  form.append('video', file);
  follow(id, async () => {
    show('result', false);
    show('progress');
    resetStages();
    await api.upload(`/api/ar/projects/${encodeURIComponent(id)}/video`, form,
                     (sent, total) => setUpload(Math.floor((sent * 100) / total), sent, total));
    $('new-video').value = '';
  });
});

$('delete').addEventListener('click', () => $('confirm-delete').showModal());

$('confirm-delete').addEventListener('close', async () => {
  if ($('confirm-delete').returnValue !== 'delete') return;
  const id = current.arId;
  try {
    await api.json('DELETE', `/api/ar/projects/${encodeURIComponent(id)}`);
  } catch (err) {
    $('manage-message').textContent = t('actionFailed', { reason: err.message });
    return;
  }
  current = null;
  show('result', false);
  openTab('projects');
  $('project-list').insertAdjacentElement('beforebegin', Object.assign(
    document.getElementById('deleted-note') || document.createElement('p'),
    { id: 'deleted-note', textContent: t('deleted') }));
  $('deleted-note').setAttribute('role', 'status');
});

async function loadDeliveries(id) {
  const list = $('deliveries');
  list.replaceChildren();
  if (!id) return;
  let page;
  try {
    page = await api.json('GET', `/api/ar/projects/${encodeURIComponent(id)}/notifications`);
  } catch {
    return;
  }
  if (!page.items.length) {
    list.append(Object.assign(document.createElement('li'), { textContent: t('noDeliveries') }));
    return;
  }
  for (const dl of page.items) {
    const li = document.createElement('li');
    const state = dl.deliveredAt ? 'delivered' : dl.failedAt ? 'failed' : 'pending';
    const text = document.createElement('span');
    text.textContent = t('delivery', { event: dl.event, target: dl.target, state: t(`delivery_${state}`),
                                       attempts: dl.attempts });
    const again = document.createElement('button');
    again.type = 'button';
    again.textContent = t('redeliver');
    again.addEventListener('click', async () => {
      try {
        await api.json('POST', `/api/ar/projects/${encodeURIComponent(id)}/notifications/${encodeURIComponent(dl.id)}/redeliver`);
        $('manage-message').textContent = t('redelivered');
      } catch (err) {
        $('manage-message').textContent = t('actionFailed', { reason: err.message });
      }
    });
    li.append(text, again);
    list.append(li);
  }
}

$('again').addEventListener('click', () => {
  current = null;
  $('create-form').reset();
  while (pairs > 1) {
    document.querySelector(`.pair[data-pair="${pairs}"]`).remove();
    pairs--;
  }
  pairsChanged();
  fitPreview();
  for (const kind of ['photo', 'video']) preview($(kind), $(`${kind}-preview`));
  show('result', false);
  show('create');
  $('photo').focus();
});

// ---- projects ----

function when(iso) {
  return iso ? new Date(iso).toLocaleDateString(language(), { year: 'numeric', month: 'short', day: 'numeric' }) : '';
}

function projectItem(p) {
  const li = document.createElement('li');
  const img = document.createElement('img');
  img.width = 96;
  img.height = 96;
  img.alt = t('thumbAlt', { title: p.title || p.orderRef || p.arId });
  if (p.thumbnailUrl) img.src = p.thumbnailUrl;
  const text = document.createElement('div');
  const title = document.createElement('strong');
  title.textContent = p.title || t('untitled');
  const facts = [t(`status_${p.status}`), p.stars !== null && p.stars !== undefined ? '★'.repeat(p.stars) : '',
                 p.orderRef ? t('orderOf', { order: p.orderRef }) : '', p.customerName || '',
                 t(p.isDemo ? 'demo' : 'permanent'), t('created', { date: when(p.createdAt) }),
                 p.expiresAt ? t('expires', { date: when(p.expiresAt) }) : ''].filter(Boolean);
  const line = document.createElement('p');
  line.textContent = facts.join(' · ');
  const open = document.createElement('button');
  open.type = 'button';
  open.textContent = t('open');
  open.addEventListener('click', async () => {
    current = await api.json('GET', `/api/ar/status/${encodeURIComponent(p.arId)}`);
    openTab('create');
    if (!['ready', 'error'].includes(current.status)) watchAgain(p.arId);
    else showResult(current);
  });
  text.append(title, line);
  li.append(img, text, open);
  return li;
}

async function loadProjects(first) {
  const q = $('search').value.trim();
  const params = new URLSearchParams({ limit: '20' });
  if (q) params.set('q', q);
  if ($('filter-status').value) params.set('status', $('filter-status').value);
  if ($('filter-kind').value) params.set('isDemo', $('filter-kind').value);

  if (!first && cursor) params.set('cursor', cursor);
  const list = $('project-list');
  try {
    const page = await api.json('GET', `/api/ar/projects?${params}`);
    cursor = page.nextCursor;
    const items = page.items.map(projectItem);
    if (first) list.replaceChildren(...items);
    else list.append(...items);
    if (first && !items.length) {
      const li = document.createElement('li');
      li.textContent = t(q || $('filter-status').value || $('filter-kind').value ? 'noMatch' : 'noProjects');
      list.append(li);
    }
    show('more', Boolean(cursor));
  } catch (err) {
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: err.message }));
  }
}

$('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const note = document.getElementById('deleted-note');
  if (note) note.remove();
  loadProjects(true);
});
$('more').addEventListener('click', () => loadProjects(false));

// ---- start ----

chooseLanguage();
const saved = sessionStorage.getItem('arcd.token');
if (saved) {
  api = new Api(saved);
  signedIn(true);
} else {
  signedIn(false);
}
