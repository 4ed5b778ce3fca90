import { useEffect, useState } from 'react';

import { ChatScreen } from './ChatScreen.jsx';
import { loadConfig, loadSession, saveSession } from './config.js';
import { SignIn } from './SignIn.jsx';

export function App() {
  const [config, setConfig] = useState(null);
  const [configError, setConfigError] = useState(null);
  const [session, setSession] = useState(loadSession);

  useEffect(() => {
    loadConfig().then(setConfig, (err) => setConfigError(err.message));
  }, []);

  const signIn = (s) => {
    saveSession(s);
    setSession(s);
  };
  const signOut = () => {
    saveSession(null);
    setSession(null);
  };

  if (configError) {
    return (
      <div className="demo-center">
        <div className="demo-card demo-error" role="alert">
          The page could not read its settings: {configError}. Is the stack from <code>scripts/run</code> up?
        </div>
      </div>
    );
  }
  if (!config) return <div className="demo-center demo-muted">Loading…</div>;
  // In development mode a session is a user id (dev tokens); otherwise it also carries a token.
  if (!session || (!config.dev && !session.token)) return <SignIn dev={config.dev} onSignIn={signIn} />;
  return <ChatScreen key={session.id} apiKey={config.apiKey} dev={config.dev} session={session} onSignOut={signOut} />;
}
