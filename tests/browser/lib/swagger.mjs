// Drive Swagger UI 5.x (as vendored by utoipa-swagger-ui) like a person would.
//
// DOM facts this relies on (checked against swagger-ui 5.32 sources):
// - top-level Authorize button: `.auth-wrapper .btn.authorize` (class
//   `locked` once authorized); the dialog is `.modal-ux`;
// - each security scheme gets a `.auth-container` in the dialog; OAS3 http
//   basic uses `#auth-basic-username`/`#auth-basic-password` (swagger 2's
//   `#auth_username`), apiKey `#api_key_value`, the OAuth2
//   password flow `#oauth_username`/`#oauth_password`; submit is
//   `button.authorize`, once authorized it turns into a "Logout" button; close
//   is `.btn-done`;
// - an operation block is `.opblock.opblock-<method>` containing
//   `.opblock-summary-path[data-path="<path>"]` (its id is
//   `operations-<tag>-<operationId>`, which we don't depend on);
// - "Try it out" is `.try-out__btn`, Execute `.execute`, the live response
//   code is `.live-responses-table .response-col_status`.

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const UI_TIMEOUT_MS = 15_000;
// OpenAPI 3 `type: http, scheme: basic` renders the oas3 HttpAuth component
// (ids auth-basic-*); the swagger 2 BasicAuth component uses auth_*.
const BASIC_USERNAME = '#auth-basic-username, #auth_username';
const BASIC_PASSWORD = '#auth-basic-password, #auth_password';

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh browser context (empty localStorage) and page. Through the Chrome
 * DevTools Fetch domain:
 * - the page may only talk to the example on 127.0.0.1 (or localhost, the name
 *   WebAuthn needs); anything else (e.g.
 *   Swagger's online validator badge) is refused, so the test never touches
 *   the network;
 * - a 401 carrying `WWW-Authenticate: Basic` makes a browser show its own
 *   login prompt (headless Chromium would wait on it forever); we press
 *   "Cancel" on it, as a person would, so the page gets that 401. Each such
 *   prompt is counted in `loginPrompts`.
 */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const log = [];
  const loginPrompts = [];
  const cdp = await context.newCDPSession(page);
  cdp.on('Fetch.requestPaused', (event) => {
    const { hostname, protocol } = new URL(event.request.url);
    const allowed = protocol === 'data:' || hostname === '127.0.0.1' || hostname === 'localhost';
    const reply = allowed
      ? cdp.send('Fetch.continueRequest', { requestId: event.requestId })
      : cdp.send('Fetch.failRequest', { requestId: event.requestId, errorReason: 'BlockedByClient' });
    reply.catch(() => {});
  });
  cdp.on('Fetch.authRequired', (event) => {
    const { scheme, realm } = event.authChallenge;
    loginPrompts.push(`${event.request.method} ${new URL(event.request.url).pathname} (${scheme} realm="${realm}")`);
    log.push(`browser login prompt cancelled: ${loginPrompts.at(-1)}`);
    cdp
      .send('Fetch.continueWithAuth', {
        requestId: event.requestId,
        authChallengeResponse: { response: 'CancelAuth' },
      })
      .catch(() => {});
  });
  await cdp.send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*' }] });
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') log.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => log.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => {
    const f = req.failure();
    if (f && f.errorText !== 'net::ERR_BLOCKED_BY_CLIENT') log.push(`requestfailed: ${req.method()} ${req.url()} ${f.errorText}`);
  });
  page.on('response', (res) => log.push(`response: ${res.request().method()} ${res.url()} -> ${res.status()}`));
  return { context, page, log, loginPrompts };
}

/** Open /docs (which redirects to /docs/) and wait for the operations. */
export async function openDocs(page, baseUrl) {
  const res = await page.goto(`${baseUrl}/docs`);
  if (!res || res.status() !== 200) throw new Error(`GET /docs -> ${res && res.status()}`);
  await page.locator('.swagger-ui .opblock').first().waitFor();
}

export function opblock(page, method, path) {
  return page
    .locator(`.opblock.opblock-${method.toLowerCase()}`)
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
}

function samePath(response, method, path) {
  return response.request().method() === method.toUpperCase() && new URL(response.url()).pathname === path;
}

/**
 * "Try it out" → Execute on METHOD PATH. Returns { http, ui, body }: the
 * status the network saw, the code Swagger UI displays in its live response
 * panel, and the response body.
 */
export async function execute(page, method, path) {
  const block = opblock(page, method, path);
  const count = await block.count();
  if (count !== 1) throw new Error(`expected one operation block for ${method} ${path}, found ${count}`);
  if (!(await block.evaluate((el) => el.classList.contains('is-open')))) {
    await block.locator('.opblock-summary-control').click();
  }
  const tryOut = block.locator('.try-out__btn');
  await tryOut.waitFor();
  if (!(await tryOut.evaluate((el) => el.classList.contains('cancel')))) await tryOut.click();
  const executeBtn = block.locator('.execute');
  await executeBtn.waitFor();

  const [response] = await Promise.all([
    page.waitForResponse((r) => samePath(r, method, path)),
    executeBtn.click(),
  ]);
  const http = response.status();

  // Wait for the panel to show the code the network saw, then read it.
  const cell = block.locator('.live-responses-table tbody .response-col_status');
  let ui = null;
  const deadline = Date.now() + UI_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await cell.count()) {
      const m = /^\s*(\d{3})/.exec(await cell.first().innerText());
      ui = m ? Number(m[1]) : null;
      if (ui === http) break;
    }
    await page.waitForTimeout(100);
  }
  const body = await response.text().catch(() => '');
  return { http, ui, body };
}

export async function openAuthorizeDialog(page) {
  await page.locator('.auth-wrapper .btn.authorize').click();
  const modal = page.locator('.modal-ux');
  await modal.waitFor();
  return modal;
}

/**
 * The dialog section (`.auth-container`) holding `inputSelector`, pinned by
 * position: once authorized, Swagger UI replaces the inputs with the values,
 * so a "has this input" locator would stop matching.
 */
async function schemeSection(modal, inputSelector) {
  const sections = modal.locator('.auth-container');
  await sections.first().waitFor();
  const n = await sections.count();
  const hits = [];
  for (let i = 0; i < n; i++) {
    if (await sections.nth(i).locator(inputSelector).count()) hits.push(i);
  }
  if (hits.length !== 1) {
    throw new Error(`expected one authorization section with ${inputSelector}, found ${hits.length}:\n${await modal.innerText()}`);
  }
  return sections.nth(hits[0]);
}

async function closeDialog(page, container) {
  await container.locator('.btn-done').click();
  await page.locator('.modal-ux').waitFor({ state: 'detached' });
}

async function submitAndConfirm(page, container, what) {
  await container.locator('button.authorize').click();
  try {
    await container.locator('button:has-text("Logout")').first().waitFor();
  } catch (err) {
    const text = await container.innerText().catch(() => '<unreadable>');
    throw new Error(`${what}: the dialog did not switch to "Logout" after Authorize. Dialog text:\n${text}`, { cause: err });
  }
}

export async function authorizeBasic(page, username, password) {
  const modal = await openAuthorizeDialog(page);
  const container = await schemeSection(modal, BASIC_USERNAME);
  await container.locator(BASIC_USERNAME).fill(username);
  await container.locator(BASIC_PASSWORD).fill(password);
  await submitAndConfirm(page, container, 'basic auth');
  await closeDialog(page, container);
}

export async function authorizeApiKey(page, value) {
  const modal = await openAuthorizeDialog(page);
  const container = await schemeSection(modal, '#api_key_value');
  const inputs = container.locator('#api_key_value');
  if ((await inputs.count()) !== 1) throw new Error(`expected one API key input, found ${await inputs.count()}`);
  await inputs.fill(value);
  await submitAndConfirm(page, container, 'api key');
  await closeDialog(page, container);
}

/**
 * Fill the OAuth2 password-flow section and click its Authorize; Swagger UI
 * then POSTs the form to the scheme's tokenUrl. Returns that token response.
 */
export async function authorizeOAuth2Password(page, username, password, { scopes = [] } = {}) {
  const modal = await openAuthorizeDialog(page);
  const container = await schemeSection(modal, '#oauth_username');
  await container.locator('#oauth_username').fill(username);
  await container.locator('#oauth_password').fill(password);
  for (const scope of scopes) {
    await container.locator(`input[type=checkbox][data-value="${scope}"]`).check({ force: true });
  }
  const [tokenResponse] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && /\/token$/.test(new URL(r.url()).pathname)),
    container.locator('button.authorize').click(),
  ]);
  const result = {
    url: tokenResponse.url(),
    status: tokenResponse.status(),
    requestBody: tokenResponse.request().postData(),
    requestContentType: await tokenResponse.request().headerValue('content-type'),
    body: await tokenResponse.text().catch(() => '<no body>'),
  };
  if (result.status === 200) await container.locator('button:has-text("Logout")').first().waitFor();
  await closeDialog(page, container);
  return result;
}
