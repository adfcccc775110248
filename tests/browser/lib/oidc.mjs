// Helpers for the OpenID Connect interop tests: set up users and clients with
// the `warden` CLI, and play the user's browser at the authorization endpoint
// with plain fetch (cookies kept by hand, redirects not followed).

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/**
 * A user `username` with role `role` granting `scopes`, created with the CLI
 * of `server` (from startWardenServer). Returns { id, username, password, email }.
 */
export async function createUser(server, { username, role, scopes }) {
  // 20 characters: above the 12-character password policy.
  const password = randomBytes(15).toString('base64url');
  const email = `${username}@example.com`;
  await server.warden(['role', 'put', role, ...scopes.flatMap((s) => ['--scope', s])]);
  const created = JSON.parse(
    await server.warden(['--json', 'user', 'create', username, '--password-stdin', '--email', email], { input: `${password}\n` }),
  );
  await server.warden(['user', 'set-roles', username, role]);
  return { id: created.id, username, password, email };
}

/**
 * Register a client with `warden --json client create`. `options` map to the
 * CLI flags: { public, firstParty, redirectUris, grantTypes, scopes }.
 * Returns { client_id, client_secret } (client_secret null for a public client).
 */
export async function createClient(server, name, { public: isPublic = false, firstParty = false, redirectUris = [], grantTypes = [], scopes = [] } = {}) {
  const args = ['--json', 'client', 'create', name];
  if (isPublic) args.push('--public');
  if (firstParty) args.push('--first-party');
  for (const uri of redirectUris) args.push('--redirect-uri', uri);
  for (const grant of grantTypes) args.push('--grant-type', grant);
  for (const scope of scopes) args.push('--scope', scope);
  const out = await server.warden(args);
  const client = JSON.parse(out);
  if (typeof client.client_id !== 'string') throw new Error(`warden client create printed no client_id: ${out}`);
  return client;
}

/** The decoded header and payload of a JWT (no verification). */
export function decodeJwt(jwt) {
  const [header, payload] = jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  return { header, payload };
}

/** `Authorization: Basic` for client_secret_basic (RFC 6749 §2.3.1: form-encode, then base64). */
export function basicAuth(clientId, clientSecret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

// --- a minimal user agent -----------------------------------------------------

/** Cookies by name for one origin: what a browser would send back. */
export class CookieJar {
  constructor() {
    /** @type {Map<string, {value: string, attributes: string[]}>} */
    this.cookies = new Map();
  }

  /** Store the Set-Cookie headers of `response`. */
  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = attributes.some((a) => /^max-age=\s*(0|-\d+)$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { value, attributes });
    }
  }

  header() {
    return [...this.cookies].map(([name, { value }]) => `${name}=${value}`).join('; ');
  }
}

/**
 * GET or POST `url` like a browser on a page of the issuer would: cookies from
 * `jar`, Origin on POST, no redirect following. Returns the response with its
 * body read into `text`.
 */
export async function browse(jar, url, { form } = {}) {
  const headers = { accept: 'text/html' };
  const cookie = jar.header();
  if (cookie) headers.cookie = cookie;
  const init = { redirect: 'manual', headers };
  if (form) {
    init.method = 'POST';
    init.body = new URLSearchParams(form);
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers.origin = new URL(url).origin;
  }
  const response = await fetch(url, init);
  jar.store(response);
  const text = await response.text();
  return { status: response.status, location: response.headers.get('location'), headers: response.headers, text, url };
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attributes(tag) {
  const attrs = {};
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;
  // Skip the tag name itself.
  const body = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
  for (const m of body.matchAll(re)) attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  return attrs;
}

/**
 * The forms of an HTML page: [{ action, method, fields, buttons }], `fields`
 * being the name→value of its inputs (as the page filled them), `buttons` its
 * submit buttons [{ name, value, text }].
 */
export function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[0].slice(0, m[0].indexOf('>') + 1));
    const fields = {};
    for (const input of m[1].matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(input[0]);
      if (a.name && !['submit', 'button', 'checkbox', 'radio'].includes((a.type || '').toLowerCase())) fields[a.name] = a.value ?? '';
    }
    const buttons = [];
    for (const button of m[1].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
      const a = attributes(`<button${button[1]}>`);
      if ((a.type || 'submit').toLowerCase() !== 'submit') continue;
      buttons.push({ name: a.name, value: a.value ?? '', text: decodeEntities(button[2].replace(/<[^>]*>/g, '')).trim() });
    }
    forms.push({ action: attrs.action ?? '', method: (attrs.method || 'get').toLowerCase(), fields, buttons });
  }
  return forms;
}

/** The one form of `page` posting to `path`; throws with the page when missing. */
export function formTo(page, path) {
  const forms = parseForms(page.text).filter((f) => new URL(f.action, page.url).pathname === path);
  if (forms.length !== 1 || forms[0].method !== 'post') {
    throw new Error(`expected one <form method="post" action="${path}"> on the page from ${page.url} (HTTP ${page.status}), found ${forms.length}:\n${page.text.slice(0, 3000)}`);
  }
  return forms[0];
}

/** Submit `form` of `page` with extra `values` (and the pressed button's name=value). */
export function submit(jar, page, form, values = {}, button) {
  const data = { ...form.fields, ...values };
  if (button?.name) data[button.name] = button.value;
  return browse(jar, new URL(form.action, page.url).href, { form: data });
}

/**
 * Sign in at `authorizationUrl` as a person would, with a fresh cookie jar:
 * load the login page, post the username and password, and on the consent
 * page press `decision` ('allow' or 'deny'). When the account has a second
 * factor, `otp()` gives the code typed on the second-factor page. Returns {
 * location, jar, consentPage } where `location` is the final 303's Location
 * (the client's redirect URI with the response) and `consentPage` the consent
 * page seen, if any.
 */
export async function signIn(authorizationUrl, { username, password, decision = 'allow', otp, jar = new CookieJar() }) {
  let page = await browse(jar, authorizationUrl);
  const trail = [`GET ${authorizationUrl} -> ${page.status}`];
  const fail = (what) => new Error(`${what}\n${trail.join('\n')}\nlast page (HTTP ${page.status}):\n${page.text.slice(0, 3000)}`);
  let consentPage = null;
  if (page.status === 200) {
    const login = formTo(page, '/authorize/login');
    page = await submit(jar, page, login, { username, password });
    trail.push(`POST /authorize/login -> ${page.status} ${page.location ?? ''}`);
  }
  if (page.status === 200 && parseForms(page.text).some((f) => new URL(f.action, page.url).pathname === '/authorize/second-factor')) {
    if (!otp) throw fail('the account asks for a second factor and no otp() was given');
    const step = formTo(page, '/authorize/second-factor');
    page = await submit(jar, page, step, { code: otp() });
    trail.push(`POST /authorize/second-factor -> ${page.status} ${page.location ?? ''}`);
  }
  if (page.status === 200 && parseForms(page.text).some((f) => new URL(f.action, page.url).pathname === '/authorize/consent')) {
    consentPage = page;
    const consent = formTo(page, '/authorize/consent');
    const button = consent.buttons.find((b) => b.name === 'decision' && b.value === decision);
    if (!button) throw fail(`the consent page has no <button name="decision" value="${decision}">`);
    page = await submit(jar, page, consent, {}, button);
    trail.push(`POST /authorize/consent (decision=${decision}) -> ${page.status} ${page.location ?? ''}`);
  }
  if (page.status !== 303 || !page.location) throw fail('the authorization flow did not end in a 303 redirect');
  return { location: page.location, jar, consentPage };
}

/**
 * An application's redirect URI, `/cb` on 127.0.0.1: records each call's query and answers
 * "signed in" (anything else, e.g. the browser's /favicon.ico, gets a 404).
 * Returns { url, hits, close }.
 */
export async function startCallback() {
  const hits = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/cb') return res.writeHead(404).end();
    hits.push(url.searchParams);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('signed in');
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const url = `http://127.0.0.1:${server.address().port}/cb`;
  return { url, hits, close: () => new Promise((res) => server.close(res)) };
}
