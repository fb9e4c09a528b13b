// The customer's page on a phone's network: opens a view URL in headless
// Debian Chromium (playwright-core) with a camera clip of the print, under
// DevTools network emulation, and prints one JSON line: seconds from
// navigation to MindAR's arReady and to targetFound, and the bytes the page
// had received by each (as sent on the wire: compressed where it was).
// usage: ARCD_NODE=DIR node viewer_load.mjs URL CAMERA.y4m PROFILE [SECONDS]
//   PROFILE: none | fast4g (9 Mbps, 60 ms) | slow4g (1.6 Mbps, 150 ms)
import { createRequire } from 'module';
const require = createRequire(`${process.env.ARCD_NODE}/`);
const { chromium } = require('playwright-core');

const [url, camera, profile, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 90);
const profiles = {
  none: null,
  fast4g: { latency: 60, downloadThroughput: 9e6 / 8, uploadThroughput: 1.5e6 / 8 },
  slow4g: { latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 0.75e6 / 8 },
};
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
         '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
         `--use-file-for-fake-video-capture=${camera}`, '--autoplay-policy=no-user-gesture-required',
         '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
const result = { profile, arReady: null, targetFound: null, bytesToReady: null, bytesToFound: null,
                 bytesTotal: null, videoStartedAt: null, errors: [] };
try {
  const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => result.errors.push(String(e)));
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (profiles[profile]) {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, ...profiles[profile] });
  }
  // Per request: bytes as they arrive (dataReceived) and the total at the end
  // (loadingFinished, headers included), in the DevTools clock.
  const reqs = new Map();
  let navAt = null;
  const req = (id) => { if (!reqs.has(id)) reqs.set(id, { url: '', chunks: [], done: null }); return reqs.get(id); };
  cdp.on('Network.requestWillBeSent', (e) => {
    const r = req(e.requestId);
    r.url = e.request.url;
    if (navAt === null && e.type === 'Document') navAt = e.timestamp;
    if (r.start === undefined) r.start = e.timestamp;
  });
  cdp.on('Network.dataReceived', (e) => req(e.requestId).chunks.push([e.timestamp, e.encodedDataLength]));
  cdp.on('Network.loadingFinished', (e) => { req(e.requestId).done = [e.timestamp, e.encodedDataLength]; });
  await page.addInitScript(() => {
    window.__arcd = { ready: null, found: null };
    document.addEventListener('DOMContentLoaded', () => {
      const scene = document.querySelector('a-scene');
      if (!scene) return;
      scene.addEventListener('arReady', () => { window.__arcd.ready = performance.now() / 1000; });
      document.querySelectorAll('[mindar-image-target]').forEach((t) => t.addEventListener('targetFound', () => {
        if (window.__arcd.found === null) window.__arcd.found = performance.now() / 1000;
      }));
    });
  });
  await page.goto(url, { waitUntil: 'commit', timeout: seconds * 1000 });
  const deadline = Date.now() + seconds * 1000;
  let state = {};
  while (Date.now() < deadline) {
    state = await page.evaluate(() => window.__arcd);
    if (state && state.found !== null) break;
    await page.waitForTimeout(100);
  }
  result.arReady = state.ready;
  result.targetFound = state.found;
  // The page's clock starts at navigation, as navAt does in the DevTools one.
  const bytesBy = (t) => {
    if (t === null || navAt === null) return null;
    let sum = 0;
    for (const r of reqs.values()) {
      if (r.done && r.done[0] - navAt <= t) sum += r.done[1];
      else for (const [ts, n] of r.chunks) if (ts - navAt <= t) sum += n;
    }
    return sum;
  };
  result.bytesToReady = bytesBy(state.ready);
  result.bytesToFound = bytesBy(state.found);
  result.bytesTotal = bytesBy(1e9);
  for (const r of reqs.values()) {
    if (/ar-video[^/]*\.mp4/.test(r.url) && navAt !== null) {
      const at = r.start - navAt;
      if (result.videoStartedAt === null || at < result.videoStartedAt) result.videoStartedAt = at;
    }
  }
} catch (e) {
  result.errors.push('driver: ' + String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
