import { useEffect, useMemo, useState } from 'react';
import { StreamChat } from 'stream-chat';
import {
  Channel,
  ChannelHeader,
  ChannelList,
  Chat,
  ChatView,
  MessageComposer,
  MessageList,
  Thread,
  ThreadList,
  Window,
  useChatContext,
} from 'stream-chat-react';

import { USERS } from '../seed/data.mjs';
import { userIdFromName } from './config.js';
import { cidFromLocation, onOpenChannelRequest, pushSupported, stopPush, syncPush } from './push.js';

// The client, wired as README.md tells every user of streambed to wire it: the API under this
// origin's /api (the WebSocket follows at /api/connect), and the interceptor for the slashes.
function createClient(apiKey) {
  const client = new StreamChat(apiKey, { baseURL: `${window.location.origin}/api` });
  client.axiosInstance.interceptors.request.use((config) => {
    const [path, query] = config.url.split('?');
    if (!path.endsWith('/')) config.url = path + '/' + (query ? '?' + query : '');
    return config;
  });
  // Link previews while a message is written (client.enrichURL, GET /api/og/): the composer makes
  // them only when the app turns them on, and then where the channel type has url_enrichment. The
  // server makes one on send anyway; this shows it before, and lets the writer dismiss it.
  client.setMessageComposerSetupFunction(({ composer }) => {
    composer.updateConfig({ linkPreviews: { enabled: true } });
  });
  return client;
}

function useConnectedClient(apiKey, dev, session) {
  const [client, setClient] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const c = createClient(apiKey);
    const seeded = USERS.find((u) => u.id === session.id);
    const name = session.name || seeded?.name;
    const user = name ? { id: session.id, name } : { id: session.id };
    let active = true;
    const connected = c.connectUser(user, dev ? c.devToken(session.id) : session.token).then(
      () => active && setClient(c),
      (err) => active && setError(err.message),
    );
    return () => {
      active = false;
      setClient(null);
      connected.then(() => c.disconnectUser());
    };
  }, [apiKey, dev, session]);
  return { client, error };
}

// "Message someone": opens (or creates) the distinct two-member channel with another user.
function NewDirectMessage() {
  const { client, setActiveChannel } = useChatContext();
  const [other, setOther] = useState('');
  const [error, setError] = useState(null);
  const otherId = userIdFromName(other);
  const start = async (e) => {
    e.preventDefault();
    if (!otherId || otherId === client.userID) return;
    setError(null);
    try {
      const draft = client.channel('messaging', { members: [client.userID, otherId] });
      await draft.watch();
      // The channel list may have opened this channel first (notification.added_to_channel can
      // arrive before the reply): events go to the instance the client keeps for the cid.
      setActiveChannel(client.channel(draft.type, draft.id));
      setOther('');
    } catch (err) {
      setError(err.message);
    }
  };
  return (
    <form className="demo-newdm" onSubmit={start}>
      <input
        aria-label="User to message"
        list="demo-user-ids"
        placeholder="Message someone (user id)"
        value={other}
        onChange={(e) => setOther(e.target.value)}
      />
      <datalist id="demo-user-ids">
        {USERS.filter((u) => u.id !== client.userID).map((u) => (
          <option key={u.id} value={u.id}>
            {u.name}
          </option>
        ))}
      </datalist>
      <button type="submit" disabled={!otherId || otherId === client.userID}>
        Start
      </button>
      {error && (
        <div className="demo-error demo-small" role="alert">
          {error}
        </div>
      )}
    </form>
  );
}

// Notifications while the tab is closed (src/push.js, public/sw.js): on by themselves when the
// browser already allows them, a button to ask otherwise, a word when they cannot work here.
function PushStatus({ token }) {
  const [state, setState] = useState(pushSupported() ? 'checking' : 'unsupported');
  const [problem, setProblem] = useState(null);
  const sync = (ask) =>
    syncPush(token, { ask }).then(setState, (err) => {
      setProblem(err.message);
      setState('failed');
    });
  useEffect(() => {
    sync(false);
  }, [token]);

  if (state === 'unsupported' || state === 'checking') return null;
  return (
    <div className="demo-push demo-small demo-muted" data-testid="push-status" data-state={state}>
      {state === 'on' && 'Notifications on'}
      {state === 'denied' && 'Notifications are blocked in this browser'}
      {state === 'failed' && <span title={problem}>Notifications unavailable</span>}
      {state === 'default' && (
        <button type="button" onClick={() => sync(true)}>
          Turn on notifications
        </button>
      )}
    </div>
  );
}

// A notification's channel: /?cid= when the click opened the app, a message from the service
// worker when the app was open.
function OpenNotifiedChannel() {
  const { client, setActiveChannel } = useChatContext();
  useEffect(
    () =>
      onOpenChannelRequest(async (cid) => {
        const colon = cid.indexOf(':');
        try {
          const channel = client.channel(cid.slice(0, colon), cid.slice(colon + 1));
          if (!channel.initialized) await channel.watch();
          setActiveChannel(channel);
        } catch {
          // Gone, or no longer a member: the app stays where it was.
        }
      }),
    [client, setActiveChannel],
  );
  return null;
}

export function ChatScreen({ apiKey, dev, session, onSignOut }) {
  const { client, error } = useConnectedClient(apiKey, dev, session);
  // Every channel the user is a member of, whatever its type (an app may add types of its own,
  // say one with delivery receipts).
  const filters = useMemo(() => ({ members: { $in: [session.id] } }), [session.id]);
  const sort = useMemo(() => ({ last_message_at: -1 }), []);
  const options = useMemo(() => ({ limit: 20, presence: true, state: true, watch: true }), []);
  // A notification click that opened the app (/?cid=): the channel list opens that channel first
  // (the kit finds it by id among the listed channels), and the address goes back to /.
  const [notified] = useState(() => {
    const cid = cidFromLocation();
    if (cid) window.history.replaceState(null, '', '/');
    return cid?.includes(':') ? cid.slice(cid.indexOf(':') + 1) : undefined;
  });
  const token = client && (dev ? client.devToken(session.id) : session.token);
  const signOut = () => stopPush(token).catch(() => {}).finally(onSignOut);

  if (error) {
    return (
      <div className="demo-center">
        <div className="demo-card demo-error" role="alert">
          Could not connect as {session.id}: {error}
          <button type="button" onClick={onSignOut}>
            Back to sign-in
          </button>
        </div>
      </div>
    );
  }
  if (!client) return <div className="demo-center demo-muted">Connecting as {session.id}…</div>;

  // Two views, as the kit lays them out: the channels, and the threads the user takes part in
  // (the selector's Threads button carries the unread threads count).
  return (
    <Chat client={client} theme="str-chat__theme-light">
      <ChatView>
        <ChatView.Selector />
        <ChatView.Channels>
          <div className="demo-app">
            <aside className="demo-sidebar">
              <div className="demo-me">
                <span>
                  Signed in as <b data-testid="me">{client.user?.name || client.userID}</b>
                </span>
                <button type="button" onClick={signOut}>
                  Sign out
                </button>
              </div>
              <PushStatus token={token} />
              <OpenNotifiedChannel />
              <NewDirectMessage />
              <ChannelList filters={filters} sort={sort} options={options} customActiveChannel={notified} />
            </aside>
            <main className="demo-main">
              <Channel>
                <Window>
                  <ChannelHeader />
                  <MessageList />
                  <MessageComposer />
                </Window>
                <Thread />
              </Channel>
            </main>
          </div>
        </ChatView.Channels>
        <ChatView.Threads>
          <aside className="demo-sidebar">
            <ThreadList />
          </aside>
          <main className="demo-main demo-thread">
            <ChatView.ThreadAdapter>
              <Thread />
            </ChatView.ThreadAdapter>
          </main>
        </ChatView.Threads>
      </ChatView>
    </Chat>
  );
}
