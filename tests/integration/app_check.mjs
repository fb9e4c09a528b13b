// The operator's web app as the shop's staff use it, in headless Debian
// Chromium (playwright-core): prints one JSON line of what happened.
// usage: ARCD_NODE=DIR node app_check.mjs BASE_URL TOKEN PHOTO VIDEO ORDER LOCALE SHOTS_DIR VIDEO2 PHOTO2 BAD_VIDEO
//   en: a wrong token's message; sign in; create a demo through the labelled
//       inputs; the upload's progress and the stages as they go; the result
//       (the QR image saved for zbarimg); the project found by its order in
//       the list; made permanent, its video replaced (VIDEO2), deleted after
//       a confirmation; axe-core on each screen.
//   both: the fit preview follows the fit mode; no layout shift as the
//       result arrives.
//   en: also a video the worker cannot read (BAD_VIDEO): the reason, and
//       Retry that runs the job again.
//   ru: the labels in Russian, a whole creation too, then a project of two
//       photo/video pairs (PHOTO2, VIDEO2).
import { createRequire } from 'module';
import { readFileSync, writeFileSync } from 'fs';
const require = createRequire(`${process.env.ARCD_NODE}/`);
const { chromium } = require('playwright-core');

const [base, token, photo, video, order, locale, shots, video2, photo2, badVideo] = process.argv.slice(2);
const axeSource = readFileSync(`${process.env.ARCD_NODE}/node_modules/axe-core/axe.min.js`, 'utf8');
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
const result = { locale, consoleErrors: [], pageErrors: [], axe: {}, steps: [] };
const ru = locale.startsWith('ru');
const L = ru
  ? { token: 'API-токен', signIn: 'Войти', photo: 'Фото', video: 'Видео', order: 'Заказ',
      customer: 'Клиент', email: 'Email клиента', title: 'Название', create: 'Создать',
      projects: 'Проекты', search: 'Поиск', searchButton: 'Найти', signOut: 'Выйти' }
  : { token: 'API token', signIn: 'Sign in', photo: 'Photo', video: 'Video', order: 'Order',
      customer: 'Customer', email: 'Customer email', title: 'Title', create: 'Create',
      projects: 'Projects', search: 'Search', searchButton: 'Search', signOut: 'Sign out' };

// axe-core, run through the DevTools protocol (the page's policy allows no
// injected script): the serious and critical violations by rule.
async function axe(page, name) {
  await page.evaluate(axeSource);
  const out = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  result.axe[name] = out;
}

async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${locale}-${name}.png`, fullPage: true });
  result.steps.push(name);
}

try {
  const context = await browser.newContext({ locale, viewport: { width: 1100, height: 900 },
                                             permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  // (The wrong token's 401 is the one error the path makes on purpose.)
  let expect401 = false;
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (expect401 && m.text().includes('status of 401')) { expect401 = false; return; }
    result.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  // What the first load moves (HTML, CSS, JS), as sent.
  const sizes = {};
  page.on('response', async (r) => {
    if (new URL(r.url()).pathname.match(/^\/($|app\/)/)) {
      const h = await r.allHeaders();
      sizes[r.url()] = { bytes: Number(h['content-length'] || 0), encoding: h['content-encoding'] || '' };
    }
  });
  await page.goto(`${base}/`, { waitUntil: 'load' });
  result.firstLoad = { ...sizes };
  result.lang = await page.evaluate(() => document.documentElement.lang);
  result.signInLabel = await page.getByLabel(L.token, { exact: true }).count();
  await axe(page, 'signin');
  await shot(page, '1-signin');

  if (!ru) {
    await page.getByLabel(L.token, { exact: true }).fill('not-a-token-at-all');
    expect401 = true;
    await page.getByRole('button', { name: L.signIn }).click();
    await page.waitForFunction(() => document.getElementById('signin-error').textContent.length > 0);
    result.wrongToken = await page.locator('#signin-error').textContent();
    await shot(page, '2-wrong-token');
  }
  await page.getByLabel(L.token, { exact: true }).fill(token);
  await page.getByRole('button', { name: L.signIn }).click();
  await page.getByLabel(L.photo, { exact: true }).waitFor();
  result.tokenKept = await page.evaluate(() => ({ session: sessionStorage.getItem('arcd.token') !== null,
                                                  local: Object.keys(localStorage).filter((k) => k.includes('token')) }));
  await page.getByLabel(L.photo, { exact: true }).setInputFiles(photo);
  await page.getByLabel(L.video, { exact: true }).setInputFiles(video);
  await page.getByLabel(L.order, { exact: true }).fill(order);
  await page.getByLabel(L.customer, { exact: true }).fill(ru ? 'Анна' : 'Anna');
  await page.getByLabel(L.email, { exact: true }).fill('anna@example.com');
  await page.getByLabel(L.title, { exact: true }).fill(ru ? 'Свадьба' : 'Wedding');
  result.photoPreview = await page.evaluate(() => !document.getElementById('photo-preview').hidden);
  // The fit preview: the video laid over the photo as each mode will.
  result.fitModes = {};
  for (const mode of ['cover', 'fill', 'contain']) {
    await page.locator('#fitMode').selectOption(mode);
    result.fitModes[mode] = await page.evaluate(() => {
      const v = document.getElementById('fit-video');
      return !document.getElementById('fit-figure').hidden && getComputedStyle(v).objectFit;
    });
  }
  await axe(page, 'create');
  await shot(page, '3-create');

  // Watch the progress as it goes: the upload's label, the stages' states.
  await page.evaluate(() => {
    window.__seen = { upload: [], stages: new Set(), running: new Set(), job: [] };
    const obs = new MutationObserver(() => {
      const u = document.getElementById('upload-label').textContent;
      if (u && window.__seen.upload.at(-1) !== u) window.__seen.upload.push(u);
      const j = document.getElementById('job-bar').value;
      if (window.__seen.job.at(-1) !== j) window.__seen.job.push(j);
      for (const li of document.querySelectorAll('#stages li')) {
        if (li.dataset.state === 'done') window.__seen.stages.add(li.id);
        if (li.dataset.state === 'running') window.__seen.running.add(li.id);
      }
    });
    obs.observe(document.getElementById('progress'), { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.evaluate(() => {
    window.__shift = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
    }).observe({ type: 'layout-shift', buffered: false });
  });
  await page.getByRole('button', { name: L.create, exact: true }).click();
  await page.locator('#progress').waitFor({ state: 'visible' });
  await shot(page, '4-progress');
  await page.locator('#result').waitFor({ state: 'visible', timeout: 120000 });
  await page.waitForFunction(() => document.getElementById('qr-img').complete &&
                                   document.getElementById('qr-img').naturalWidth > 0, null, { timeout: 20000 });
  await page.waitForTimeout(300);
  result.layoutShift = await page.evaluate(() => window.__shift);
  result.seen = await page.evaluate(() => ({ upload: window.__seen.upload, job: window.__seen.job,
                                             stagesDone: [...window.__seen.stages], running: [...window.__seen.running] }));
  result.stageTexts = await page.locator('#stages li').allTextContents();
  result.title = await page.locator('#result-title').textContent();
  result.stars = await page.locator('#stars').textContent();
  result.qrAlt = await page.locator('#qr-img').getAttribute('alt');
  const qrUrl = await page.locator('#qr-img').getAttribute('src');
  const qr = await page.evaluate(async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())), qrUrl);
  writeFileSync(`${shots}/${locale}-qr.png`, Buffer.from(qr));
  result.downloads = {};
  for (const id of ['dl-print', 'dl-sheet', 'dl-qr-png', 'dl-qr-svg', 'open-viewer']) {
    result.downloads[id] = await page.locator(`#${id}`).getAttribute('href');
  }
  await page.getByLabel(ru ? 'Показать, что отслеживает телефон' : 'Show what the phone tracks', { exact: true }).check();
  result.featuresShown = await page.evaluate(() => !document.getElementById('features-img').hidden);
  await page.getByRole('button', { name: ru ? 'Копировать ссылку' : 'Copy link' }).click();
  result.copied = await page.evaluate(() => navigator.clipboard.readText());
  await axe(page, 'result');
  await shot(page, '5-result');

  if (!ru) {
    // A video the worker cannot read: the reason, and Retry.
    await page.getByRole('button', { name: 'New living photo' }).last().click();
    await page.getByLabel(L.photo, { exact: true }).setInputFiles(photo);
    await page.getByLabel(L.video, { exact: true }).setInputFiles(badVideo);
    await page.getByLabel(L.order, { exact: true }).fill(order.replace('ORD', 'ERR'));
    await page.getByRole('button', { name: L.create, exact: true }).click();
    await page.locator('#result').waitFor({ state: 'visible', timeout: 120000 });
    await page.waitForFunction(() => document.getElementById('result-error').textContent.length > 0);
    result.failed = { title: await page.locator('#result-title').textContent(),
                      reason: await page.locator('#result-error').textContent(),
                      retry: await page.getByRole('button', { name: 'Retry' }).isVisible(),
                      qrHidden: await page.locator('#qr-img').isHidden() };
    await axe(page, 'failed');
    await shot(page, '5b-failed');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('#progress').waitFor({ state: 'visible' });
    result.retrySawProgress = true;
    await page.locator('#result').waitFor({ state: 'visible', timeout: 120000 });
    await page.waitForFunction(() => document.getElementById('result-error').textContent.length > 0);
    result.retried = await page.locator('#result-error').textContent();
  }
  if (ru) {
    // Two pairs: one permanent project with two targets.
    await page.getByRole('button', { name: 'Новое живое фото' }).last().click();
    await page.getByRole('button', { name: 'Добавить ещё фото и видео' }).click();
    result.pairLabels = await page.locator('.pair label').allTextContents();
    await page.getByLabel('Фото', { exact: true }).setInputFiles(photo);
    await page.getByLabel('Видео', { exact: true }).setInputFiles(video);
    await page.getByLabel('Фото 2', { exact: true }).setInputFiles(photo2);
    await page.getByLabel('Видео 2', { exact: true }).setInputFiles(video2);
    await page.getByLabel(L.order, { exact: true }).fill(`${order}-2`);
    result.demoDisabled = await page.locator('#kind-demo').isDisabled();
    await axe(page, 'pairs');
    await shot(page, '4b-pairs');
    await page.getByRole('button', { name: L.create, exact: true }).click();
    await page.locator('#result').waitFor({ state: 'visible', timeout: 120000 });
    await page.waitForFunction(() => document.getElementById('manage-facts').textContent.length > 0);
    result.multi = { title: await page.locator('#result-title').textContent(),
                     facts: await page.locator('#manage-facts').textContent() };
  }
  await page.getByRole('button', { name: L.projects }).click();
  await page.getByLabel(L.search, { exact: true }).fill(order);
  await page.getByRole('button', { name: L.searchButton, exact: true }).click();
  await page.waitForFunction((o) => [...document.querySelectorAll('#project-list li')]
    .some((li) => li.textContent.includes(o)), order, { timeout: 10000 });
  result.listed = await page.locator('#project-list li').allTextContents();
  await axe(page, 'projects');
  await shot(page, '6-projects');
  if (!ru) {
    // Manage it: permanent, a new video, then delete (confirmed).
    await page.locator('#project-list li', { hasText: order }).getByRole('button', { name: 'Open' }).click();
    await page.locator('#manage').waitFor({ state: 'visible' });
    result.manageBefore = await page.locator('#manage-facts').textContent();
    await page.getByRole('button', { name: 'Extend by 7 days' }).click();
    await page.waitForFunction(() => document.getElementById('manage-message').textContent.length > 0);
    result.extendMessage = await page.locator('#manage-message').textContent();
    result.manageExtended = await page.locator('#manage-facts').textContent();
    await page.evaluate(() => { document.getElementById('manage-message').textContent = ''; });
    // The status read after the change made slow: the message must still
    // come only once the facts show the change (it came before: a race CI lost).
    const slow = async (route) => {
      await new Promise((r) => setTimeout(r, 700));
      await route.continue().catch(() => route.fallback().catch(() => {})); // unrouted meanwhile
    };
    await page.route('**/api/ar/status/**', slow);
    await page.getByRole('button', { name: 'Make permanent' }).click();
    await page.waitForFunction(() => document.getElementById('manage-message').textContent.length > 0);
    result.permanentMessage = await page.locator('#manage-message').textContent();
    result.manageAfter = await page.locator('#manage-facts').textContent();
    await page.unroute('**/api/ar/status/**', slow);
    result.deliveries = await page.locator('#deliveries li').allTextContents();
    await axe(page, 'manage');
    await shot(page, '8-manage');
    const before = await page.locator('#dl-print').getAttribute('href');
    await page.getByLabel('New video', { exact: true }).setInputFiles(video2);
    await page.getByRole('button', { name: 'Replace video' }).click();
    await page.locator('#progress').waitFor({ state: 'visible' });
    await page.locator('#result').waitFor({ state: 'visible', timeout: 120000 });
    await page.waitForFunction(() => document.getElementById('open-viewer').getAttribute('href'));
    result.replaced = { title: await page.locator('#result-title').textContent(),
                        printKept: before === await page.locator('#dl-print').getAttribute('href') };
    const status = await page.evaluate(async (o) => {
      const tok = sessionStorage.getItem('arcd.token');
      const list = await (await fetch(`/api/ar/projects?q=${encodeURIComponent(o)}`,
                                      { headers: { Authorization: `Bearer ${tok}` } })).json();
      const st = await (await fetch(`/api/ar/status/${list.items[0].arId}`,
                                    { headers: { Authorization: `Bearer ${tok}` } })).json();
      return { isDemo: st.isDemo, videoUrl: st.videoUrl, jobKind: st.jobKind };
    }, order);
    result.afterReplace = status;
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    result.dialogOpen = await page.locator('#confirm-delete').isVisible();
    await axe(page, 'confirm');
    await shot(page, '9-confirm');
    await page.locator('#confirm-delete').getByRole('button', { name: 'Delete' }).click();
    await page.locator('#deleted-note').waitFor();
    result.deletedNote = await page.locator('#deleted-note').textContent();
    await page.getByLabel(L.search, { exact: true }).fill(order);
    await page.getByRole('button', { name: L.searchButton, exact: true }).click();
    await page.waitForFunction(() => [...document.querySelectorAll('#project-list li')]
      .some((li) => li.textContent.includes('Nothing found')), null, { timeout: 10000 });
    result.afterDelete = await page.locator('#project-list li').allTextContents();
    await shot(page, '10-deleted');
  }
  // A phone's width: nothing wider than the screen.
  await page.setViewportSize({ width: 360, height: 740 });
  result.overflow360 = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  await shot(page, '7-phone');
  await page.getByRole('button', { name: L.signOut }).click();
  result.signedOut = await page.getByLabel(L.token, { exact: true }).isVisible() &&
                     await page.evaluate(() => sessionStorage.getItem('arcd.token') === null);
} catch (e) {
  result.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
