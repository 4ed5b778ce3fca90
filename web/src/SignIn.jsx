import { useState } from 'react';

import { USERS } from '../seed/data.mjs';
import { userIdFromName } from './config.js';

export function SignIn({ dev, onSignIn }) {
  const [name, setName] = useState('');
  const [token, setToken] = useState('');
  const id = userIdFromName(name);

  const submit = (e) => {
    e.preventDefault();
    if (!id || (!dev && !token.trim())) return;
    // Typing a seeded user's id signs in as that user, under the seeded name.
    const seeded = USERS.find((u) => u.id === id);
    onSignIn({ id, name: seeded?.name ?? name.trim(), token: dev ? undefined : token.trim() });
  };

  return (
    <div className="demo-center">
      <div className="demo-card demo-signin">
        <h1>streambed chat</h1>
        <p className="demo-muted">
          The unmodified <code>stream-chat-react</code> kit, talking to this server.
        </p>
        {dev ? (
          <>
            <h2>Sign in as</h2>
            <ul className="demo-users" aria-label="Demo users">
              {USERS.map((u) => (
                <li key={u.id}>
                  <button type="button" onClick={() => onSignIn({ id: u.id, name: u.name })}>
                    <span className="demo-initial" aria-hidden="true">{u.name[0]}</span>
                    {u.name}
                  </button>
                </li>
              ))}
            </ul>
            <h2>or as someone new</h2>
          </>
        ) : (
          <p className="demo-notice">
            This server is not in development mode, so dev tokens are refused: paste a user token signed by your back
            end.
          </p>
        )}
        <form onSubmit={submit}>
          <label>
            Your name
            <input
              name="name"
              autoComplete="off"
              placeholder="e.g. Frank Fischer"
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </label>
          {id && <div className="demo-muted demo-small">user id: {id}</div>}
          {!dev && (
            <label>
              User token
              <input name="token" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
            </label>
          )}
          <button type="submit" disabled={!id || (!dev && !token.trim())}>
            Sign in
          </button>
        </form>
      </div>
    </div>
  );
}
