// The JSON API, as the pages use it: requests, the signed-in session, token refresh.
//
// The session (access token, refresh token, expiry) is kept in localStorage so that every tab
// of this origin shares it and a reload keeps you signed in. A refresh token is single use and
// presenting a used one revokes the session, so tabs must never trade the same token twice: a
// refresh runs under a Web Lock shared by every tab, and a tab that gets the lock after another
// refreshed simply reads the new tokens. See the README ("Where the web app keeps tokens").

const SESSION_KEY = "movie-bag.session";
// Refresh when less than a tenth of the access token's lifetime is left, and at least a minute
// (or half the lifetime, for short-lived tokens) before it expires.
const REFRESH_WHEN_LEFT = 0.1;
const REFRESH_MARGIN_MS = 60_000;

function refreshMargin(session) {
  return Math.max(session.lifetime * REFRESH_WHEN_LEFT, Math.min(REFRESH_MARGIN_MS, session.lifetime / 2));
}

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.message) || `Request failed (${status})`);
    this.status = status;
    this.body = body || {};
    this.code = this.body.code;
    this.fieldErrors = this.body.errors || {};
    /** Seconds to wait, from Retry-After (429, 503). */
    this.retryAfter = retryAfter;
  }
}

/** Thrown when a page needs a signed-in user and there is none (or the session ended). */
export class SignInNeeded extends Error {}

/**
 * Thrown when a request got no answer at all: the browser is offline, the server is down or the
 * connection broke. Nothing is known about whether the server acted on it.
 */
export class NetworkError extends Error {
  constructor(cause) {
    super("movie-bag could not be reached", { cause });
  }
}

const listeners = new Set();

/** Calls `listener()` whenever the session changes, in this tab or another. */
export function onSessionChange(listener) {
  listeners.add(listener);
}

window.addEventListener("storage", (event) => {
  if (event.key === SESSION_KEY) {
    profileCache = null;
    listeners.forEach((listener) => listener());
    scheduleRefresh();
  }
});

function readSession() {
  try {
    const session = JSON.parse(localStorage.getItem(SESSION_KEY));
    return session && session.token && session.refresh_token ? session : null;
  } catch {
    return null;
  }
}

function writeSession(session) {
  if (session) {
    localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  } else {
    localStorage.removeItem(SESSION_KEY);
  }
  profileCache = null;
  listeners.forEach((listener) => listener());
  scheduleRefresh();
}

function keepPair(pair) {
  const lifetime = pair.expires_in * 1000;
  writeSession({
    token: pair.token,
    refresh_token: pair.refresh_token,
    expires_at: Date.now() + lifetime,
    lifetime,
  });
}

export function isSignedIn() {
  return readSession() !== null;
}

function needsRefresh(session) {
  return session.expires_at - Date.now() < refreshMargin(session);
}

/** With the lock every tab shares (where the browser has Web Locks). */
function exclusively(work) {
  if (navigator.locks) {
    return navigator.locks.request("movie-bag.refresh", work);
  }
  return work();
}

/**
 * Trades the refresh token for a new pair, once for all tabs: when another tab already did (the
 * stored token is no longer about to expire, or no longer the one the server just refused), its
 * result is used instead. Returns the live session, or null when it has ended.
 */
async function refreshSession(refusedToken = null) {
  return exclusively(async () => {
    const current = readSession();
    if (!current) {
      return null;
    }
    const alreadyFresh = refusedToken ? current.token !== refusedToken : !needsRefresh(current);
    if (alreadyFresh) {
      return current;
    }
    const response = await send("POST", "/api/auth/refresh", { refresh_token: current.refresh_token });
    if (response.ok) {
      keepPair(await response.json());
      return readSession();
    }
    if (response.status === 401) {
      writeSession(null);
      return null;
    }
    throw await errorFrom(response);
  });
}

let refreshTimer = null;

/** Refreshes a little before the access token expires, while the page is open. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const session = readSession();
  if (!session) {
    return;
  }
  const refreshAt = session.expires_at - refreshMargin(session);
  // setTimeout holds at most about 24.8 days.
  const delay = Math.min(Math.max(refreshAt - Date.now(), 0), 2 ** 31 - 1);
  refreshTimer = setTimeout(() => refreshSession().catch(() => {}), delay);
}
scheduleRefresh();

/** `fetch`, with a failure to reach the server as a NetworkError (fetch's own is a TypeError). */
async function send(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body instanceof Blob) {
    // A file as it is (a poster, a Letterboxd export), labelled with its own type.
    init.headers["Content-Type"] = body.type || "application/octet-stream";
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(path, init);
  } catch (error) {
    throw new NetworkError(error);
  }
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return new ApiError(response.status, body, Number.isFinite(retry) ? retry : undefined);
}

/**
 * Sends a request; with `auth`, as the signed-in user (refreshing first when the token is about
 * to expire, and once more if the server says it is no longer valid). Resolves to
 * `{status, headers, body}`; rejects with ApiError, or SignInNeeded when there is no session.
 */
export async function request(method, path, { body, auth = false, headers = {} } = {}) {
  let response;
  if (auth) {
    let session = readSession();
    if (session && needsRefresh(session)) {
      session = await refreshSession();
    }
    if (!session) {
      throw new SignInNeeded();
    }
    response = await send(method, path, body, { ...headers, Authorization: `Bearer ${session.token}` });
    if (response.status === 401) {
      // Expired or revoked: one refresh, then ask for a sign-in.
      session = await refreshSession(session.token);
      if (!session) {
        throw new SignInNeeded();
      }
      response = await send(method, path, body, { ...headers, Authorization: `Bearer ${session.token}` });
      if (response.status === 401) {
        writeSession(null);
        throw new SignInNeeded();
      }
    }
  } else {
    response = await send(method, path, body, headers);
  }
  if (!response.ok && response.status !== 304) {
    throw await errorFrom(response);
  }
  const type = response.headers.get("Content-Type") || "";
  const data = response.status !== 204 && response.status !== 304 && type.includes("json") ? await bodyOf(response) : null;
  return { status: response.status, headers: response.headers, body: data };
}

/** The JSON of a response whose body may be cut off by a broken connection. */
async function bodyOf(response) {
  try {
    return await response.json();
  } catch (error) {
    throw error instanceof TypeError ? new NetworkError(error) : error;
  }
}

/**
 * Signs in with email and password. Resolves to null when signed in, or, for an account with
 * two-step sign-in on, to `{ mfaToken }`: the code from the person's app is then needed
 * ({@link signInWithCode}).
 */
export async function signIn(email, password) {
  const { body } = await request("POST", "/api/auth/login", { body: { email, password } });
  if (body && body.mfa_required) {
    return { mfaToken: body.mfa_token };
  }
  keepPair(body);
  return null;
}

/** The second step of a sign-in: a code from the authenticator app, or a recovery code. */
export async function signInWithCode(mfaToken, code) {
  const { body } = await request("POST", "/api/auth/login/mfa", { body: { mfa_token: mfaToken, code } });
  keepPair(body);
}

/** Ends this session on the server (best effort) and here. */
export async function signOut() {
  try {
    await request("POST", "/api/auth/logout", { auth: true });
  } catch {
    // Already ended: nothing to do.
  }
  writeSession(null);
}

/** Ends every session of the account, this one included. */
export async function signOutEverywhere() {
  await request("POST", "/api/auth/logout-all", { auth: true });
  writeSession(null);
}

/** Forgets the session here (after the server ended it: password change, account deleted). */
export function forgetSession() {
  writeSession(null);
}

let profileCache = null;
// The email of the last profile read in this tab: kept after the session ends, to offer it
// when the person is asked to sign in again.
let knownEmail = null;

/** The email of the account last signed in in this tab, if known. */
export function lastEmail() {
  return knownEmail;
}

/** The signed-in user's profile (`GET /api/users/me`), or null when signed out. */
export async function profile() {
  if (!isSignedIn()) {
    return null;
  }
  if (!profileCache) {
    profileCache = request("GET", "/api/users/me", { auth: true })
      .then((response) => {
        knownEmail = response.body.email;
        return response.body;
      })
      .catch((error) => {
        profileCache = null;
        if (error instanceof SignInNeeded) {
          return null;
        }
        throw error;
      });
  }
  return profileCache;
}

/** Drops the cached profile (after the user's movies or role changed). */
export function profileChanged() {
  profileCache = null;
}

/** The URL of the next page from a `Link` header, if any. */
export function nextLink(headers) {
  const link = headers.get("Link") || "";
  const match = link.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  return match ? match[1] : null;
}
