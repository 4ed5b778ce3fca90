// The stack tells the page its API key (public, as on getstream.io) and whether it runs in
// development mode: nginx answers /demo-config.json from the values scripts/run started it with.
export async function loadConfig() {
  const res = await fetch('/demo-config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`GET /demo-config.json answered ${res.status}`);
  const config = await res.json();
  if (!config.apiKey) throw new Error('/demo-config.json has no apiKey');
  return { apiKey: config.apiKey, dev: Boolean(config.dev) };
}

// A typed name becomes a user id the SDK accepts (ASCII letters, digits, '_' and '-').
export function userIdFromName(name) {
  return name
    .trim()
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

const SESSION_KEY = 'streambed-demo-session';

export function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null');
    return s && typeof s.id === 'string' && s.id ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_KEY);
}
