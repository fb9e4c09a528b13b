// The customer's page as people meet it, in headless Debian Chromium
// (playwright-core): prints one JSON line of what the page showed.
// usage: ARCD_NODE=DIR node customer_check.mjs MODE URL LOCALE [CAMERA.y4m] [SCREENSHOT.png]
//   ar       a camera (the clip) pointed at the print: texts before and
//            after arReady and targetFound
//   denied   the camera refused: the fallback, and its video playing
//   insecure the page over plain http on a name other than localhost
//            (shop.test, mapped to 127.0.0.1): the fallback
//   inapp    Instagram's built-in browser (its User-Agent): the page that
//            says how to open the link in a browser, and its copy button
import { createRequire } from 'module';
const require = createRequire(`${process.env.ARCD_NODE}/`);
const { chromium } = require('playwright-core');

const [mode, url, locale, camera, screenshot] = process.argv.slice(2);
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
              '--autoplay-policy=no-user-gesture-required', '--use-angle=swiftshader',
              '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--use-fake-device-for-media-stream',
              '--host-resolver-rules=MAP shop.test 127.0.0.1'];
if (mode === 'ar') args.push('--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${camera}`);
if (mode === 'denied') args.push('--deny-permission-prompts');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
const result = { mode, consoleErrors: [], pageErrors: [] };
const visible = (page, sel) => page.evaluate((s) => {
  const el = document.querySelector(s);
  if (!el) return null;
  const st = getComputedStyle(el);
  // As drawn, not as flagged: a hidden element that CSS still displays is seen.
  return st.display !== 'none' && st.visibility !== 'hidden' ? el.textContent.trim() : null;
}, sel);
try {
  const options = { viewport: { width: 400, height: 700 }, locale };
  if (mode === 'inapp') {
    options.userAgent = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 ' +
      '(KHTML, like Gecko) Mobile/15E148 Instagram 309.0.0.40.113 (iPhone14,5; iOS 17_1; ru_RU; ru; ' +
      'scale=3.00; 1170x2532; 541635890)';
    options.permissions = ['clipboard-read', 'clipboard-write'];
  }
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  await page.addInitScript(() => {
    window.__arcd = { ready: null, found: null };
    document.addEventListener('DOMContentLoaded', () => {
      const scene = document.querySelector('a-scene');
      if (!scene) return;
      scene.addEventListener('arReady', () => { window.__arcd.ready = performance.now() / 1000; });
      scene.addEventListener('arError', () => { window.__arcd.error = performance.now() / 1000; });
      document.querySelectorAll('[mindar-image-target]').forEach((t) => t.addEventListener('targetFound', () => {
        if (window.__arcd.found === null) window.__arcd.found = performance.now() / 1000;
      }));
    });
  });
  await page.goto(url, { waitUntil: 'load', timeout: 60000 });
  result.finalUrl = page.url();
  result.lang = await page.evaluate(() => document.documentElement.lang);
  if (mode === 'ar') {
    result.loadingAtStart = await visible(page, '#loading');
    await page.waitForFunction(() => window.__arcd.ready !== null, null, { timeout: 45000 });
    await page.waitForTimeout(300);
    result.loadingAfterReady = await visible(page, '#loading');
    result.hintAfterReady = await visible(page, '#hint');
    result.shop = await visible(page, '#shop');
    result.shopColor = await page.evaluate(() => getComputedStyle(document.getElementById('shop')).backgroundColor);
    await page.waitForFunction(() => window.__arcd.found !== null, null, { timeout: 45000 });
    await page.waitForTimeout(500);
    result.hintAfterFound = await visible(page, '#hint');
    result.sound = await visible(page, '#unmute');
  } else if (mode === 'denied' || mode === 'insecure') {
    await page.waitForFunction(() => !document.getElementById('fallback').hidden, null, { timeout: 45000 });
    result.secure = await page.evaluate(() => window.isSecureContext);
    result.title = await visible(page, '#fallback-title');
    result.text = await visible(page, '#fallback-text');
    result.button = await visible(page, '#play');
    await page.click('#play');
    await page.waitForTimeout(2500);
    result.video = await page.evaluate(() => {
      const v = document.querySelector('#fallback video');
      return v ? { currentTime: v.currentTime, paused: v.paused, src: v.getAttribute('src'),
                   inFigure: v.parentElement.tagName, photo: v.parentElement.querySelector('img').getAttribute('src'),
                   photoLoaded: v.parentElement.querySelector('img').naturalWidth > 0 } : null;
    });
    result.loading = await visible(page, '#loading');
  } else if (mode === 'inapp') {
    result.heading = await visible(page, 'h1');
    result.link = await visible(page, '#url');
    result.intent = await page.evaluate(() => {
      const a = Array.from(document.querySelectorAll('a')).find((x) => x.href.startsWith('intent:'));
      return a ? a.getAttribute('href') : null;
    });
    await page.click('#copy');
    await page.waitForTimeout(300);
    result.copied = await visible(page, '#copied');
    result.clipboard = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => 'error: ' + e);
  }
  if (screenshot) await page.screenshot({ path: screenshot });
} catch (e) {
  result.pageErrors.push('driver: ' + String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
