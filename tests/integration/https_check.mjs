// The customer's page behind HTTPS, in headless Debian Chromium
// (playwright-core, software WebGL, a fake camera): opens the https view URL
// and reports, as one JSON line, whether the page is a secure context, which
// protocol carried it (nextHopProtocol: "h2" for HTTP/2), whether MindAR
// reached arReady with the camera live in its video element, and whether a
// getUserMedia call of the page's own gets a live track; then opens the same
// page over plain http (arcd itself, no proxy) and reports that it is not a
// secure context and has no camera API. HOST is mapped to 127.0.0.1 by the
// browser's resolver: a name other than localhost, so only https makes it
// secure, as on a phone. The proxy's certificate comes from a test CA the
// browser does not know: --ignore-certificate-errors.
// usage: ARCD_NODE=DIR node https_check.mjs HOST HTTPS_URL HTTP_URL [SECONDS]
import { createRequire } from 'module';
const require = createRequire(`${process.env.ARCD_NODE}/`);
const { chromium } = require('playwright-core');

const [host, httpsUrl, httpUrl, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 40);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
         '--ignore-certificate-errors', `--host-resolver-rules=MAP ${host} 127.0.0.1`,
         '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
         '--autoplay-policy=no-user-gesture-required', '--use-angle=swiftshader',
         '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
const result = { https: { consoleErrors: [], pageErrors: [] }, http: {} };
try {
  const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
  page.on('console', (m) => { if (m.type() === 'error') result.https.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.https.pageErrors.push(String(e)));
  // Listen from the very start: arReady may come before goto() returns.
  await page.addInitScript(() => {
    window.__arcd = { t0: performance.now(), ready: null, error: null };
    document.addEventListener('DOMContentLoaded', () => {
      const scene = document.querySelector('a-scene');
      if (!scene) return;
      scene.addEventListener('arReady', () => { window.__arcd.ready = (performance.now() - window.__arcd.t0) / 1000; });
      scene.addEventListener('arError', (e) => { window.__arcd.error = JSON.stringify(e.detail || 'arError'); });
    });
  });
  await page.goto(httpsUrl, { waitUntil: 'load', timeout: seconds * 1000 });
  const r = result.https;
  r.finalUrl = page.url();
  Object.assign(r, await page.evaluate(() => ({
    isSecureContext: window.isSecureContext,
    protocol: performance.getEntriesByType('navigation')[0].nextHopProtocol,
  })));
  const deadline = Date.now() + seconds * 1000;
  let state = {};
  while (Date.now() < deadline) {
    state = await page.evaluate(() => window.__arcd);
    if (state.error || state.ready !== null) break;
    await page.waitForTimeout(100);
  }
  r.arReady = state.ready;
  r.arError = state.error;
  // MindAR plays the camera in a <video> of its own (srcObject: the stream).
  r.mindarCamera = await page.evaluate(() => Array.from(document.querySelectorAll('video')).some(
    (v) => v.srcObject instanceof MediaStream && v.srcObject.getVideoTracks().some((t) => t.readyState === 'live')));
  r.getUserMedia = await page.evaluate(async () => {
    try {
      const s = await navigator.mediaDevices.getUserMedia({ video: true });
      const t = s.getVideoTracks()[0];
      const live = t.readyState;
      s.getTracks().forEach((x) => x.stop());
      return live;
    } catch (e) {
      return 'failed: ' + String(e);
    }
  });
  r.scripts = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => /\.js$/.test(new URL(e.name).pathname)).map((e) => `${e.nextHopProtocol} ${e.name}`));

  const plain = await browser.newPage();
  await plain.goto(httpUrl, { waitUntil: 'load', timeout: seconds * 1000 });
  result.http.finalUrl = plain.url();
  Object.assign(result.http, await plain.evaluate(() => ({
    isSecureContext: window.isSecureContext,
    mediaDevices: typeof navigator.mediaDevices,
  })));
} catch (e) {
  result.https.pageErrors.push('driver: ' + String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
