// Opens a viewer page in headless Debian Chromium (playwright-core, software
// WebGL, a fake camera) and reports, as one JSON line, whether MindAR became
// ready and every console error or page error seen on the way.
// usage: ARCD_NODE=DIR node viewer_check.mjs URL [SECONDS]
// (DIR holds node_modules/playwright-core: scripts/browser.sh installs it)
import { createRequire } from 'module';
const require = createRequire(`${process.env.ARCD_NODE}/`);
const { chromium } = require('playwright-core');

const url = process.argv[2];
const seconds = Number(process.argv[3] || 40);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic', '--use-fake-ui-for-media-stream',
         '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required',
         '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
const result = { url, arReady: false, arError: null, consoleErrors: [], pageErrors: [], finalUrl: null, videos: [] };
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  await page.goto(url, { waitUntil: 'load', timeout: seconds * 1000 });
  result.finalUrl = page.url();
  const outcome = await page.evaluate((ms) => new Promise((resolve) => {
    const scene = document.querySelector('a-scene');
    if (!scene) return resolve({ error: 'no a-scene' });
    scene.addEventListener('arReady', () => resolve({ ready: true }));
    scene.addEventListener('arError', (e) => resolve({ error: JSON.stringify(e.detail || 'arError') }));
    setTimeout(() => resolve({ error: 'timeout' }), ms);
  }), seconds * 1000);
  result.arReady = !!outcome.ready;
  result.arError = outcome.error || null;
  await page.waitForTimeout(1000); // errors raised right after start-up count too
  // The overlay videos start loading at arReady: give them a moment.
  await page.waitForFunction(() => Array.from(document.querySelectorAll('a-assets video'))
    .every((v) => v.readyState >= 1), null, { timeout: 10000 }).catch(() => {});
  // Each overlay video: did it load, and how did the page size its plane?
  result.videos = await page.evaluate(() => Array.from(document.querySelectorAll('a-video')).map((p) => {
    const v = document.querySelector(p.getAttribute('data-video'));
    return { src: v.getAttribute('src'), readyState: v.readyState, videoWidth: v.videoWidth,
             videoHeight: v.videoHeight, muted: v.muted, playsInline: v.playsInline,
             box: p.getAttribute('data-box'), width: Number(p.getAttribute('width')),
             height: Number(p.getAttribute('height')) };
  }));
} catch (e) {
  result.pageErrors.push('driver: ' + String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
