// Plays the phone: opens a viewer URL in headless Debian Chromium
// (playwright-core) whose camera is a clip (a .y4m file), with software
// WebGL, and reports as one JSON line when MindAR was ready, whether and when
// targetFound fired, and how the overlay video's currentTime moved after it;
// when the overlay video's download started (videoRequestedAt, seconds like
// the rest) and what its plane showed at targetFound (planeAtFound).
// usage: ARCD_NODE=DIR node phone_check.mjs URL CAMERA.y4m SECONDS [SCREENSHOT.png]
import { createRequire } from 'module';
const require = createRequire(`${process.env.ARCD_NODE}/`);
const { chromium } = require('playwright-core');

const [url, camera, secondsArg, screenshot] = process.argv.slice(2);
const seconds = Number(secondsArg || 30);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
         '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
         `--use-file-for-fake-video-capture=${camera}`, '--autoplay-policy=no-user-gesture-required',
         '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
const result = { url, arReady: null, targetFound: null, targetLost: null, arError: null,
                 currentTimes: [], pageErrors: [], consoleErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  // Listen from the very start: the events may come before goto() returns.
  await page.addInitScript(() => {
    window.__arcd = { t0: performance.now(), ready: null, found: null, lost: null, error: null };
    document.addEventListener('DOMContentLoaded', () => {
      const scene = document.querySelector('a-scene');
      const at = () => (performance.now() - window.__arcd.t0) / 1000;
      if (!scene) return;
      scene.addEventListener('arReady', () => { window.__arcd.ready = at(); });
      scene.addEventListener('arError', (e) => { window.__arcd.error = JSON.stringify(e.detail || 'arError'); });
      document.querySelectorAll('[mindar-image-target]').forEach((t) => {
        t.addEventListener('targetFound', () => {
          if (window.__arcd.found !== null) return;
          window.__arcd.found = at();
          const plane = t.querySelector('a-video');
          window.__arcd.planeAtFound = plane ? plane.getAttribute('src') : null;
        });
        t.addEventListener('targetLost', () => { window.__arcd.lost = at(); });
      });
    });
  });
  await page.goto(url, { waitUntil: 'load', timeout: seconds * 1000 });
  result.finalUrl = page.url();
  const deadline = Date.now() + seconds * 1000;
  let state = {};
  while (Date.now() < deadline) {
    state = await page.evaluate(() => window.__arcd);
    if (state.error || state.found !== null) break;
    await page.waitForTimeout(100);
  }
  result.arReady = state.ready;
  result.targetFound = state.found;
  result.planeAtFound = state.planeAtFound;
  result.videoRequestedAt = await page.evaluate(() => {
    const e = performance.getEntriesByType('resource').find((r) => /ar-video[^/]*\.mp4/.test(r.name));
    return e ? (e.startTime - window.__arcd.t0) / 1000 : null;
  });
  result.arError = state.error;
  if (state.found !== null) {
    // The overlay plays: sample its clock for two seconds.
    for (let i = 0; i < 5; i++) {
      result.currentTimes.push(await page.evaluate(() => {
        const v = document.querySelector('a-assets video');
        return v ? v.currentTime : null;
      }));
      await page.waitForTimeout(500);
    }
    result.paused = await page.evaluate(() => document.querySelector('a-assets video').paused);
  }
  result.targetLost = (await page.evaluate(() => window.__arcd)).lost;
  if (screenshot) await page.screenshot({ path: screenshot });
} catch (e) {
  result.pageErrors.push('driver: ' + String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
