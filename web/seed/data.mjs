// The demo's seed data: who exists and which channels they share. One place for both the seed
// script (seed/seed.mjs, server-side) and the sign-in screen (src/SignIn.jsx, which lists USERS).

export const USERS = [
  { id: 'alice', name: 'Alice Andersen' },
  { id: 'bob', name: 'Bob Brennan' },
  { id: 'carol', name: 'Carol Castillo' },
  { id: 'dave', name: 'Dave Dimitrov' },
  { id: 'erin', name: 'Erin Eriksen' },
];

const ALL = USERS.map((u) => u.id);

// A few lines of conversation, reused round-robin for the channels' history.
const LINES = [
  'Good morning, everyone!',
  'Has anyone looked at the release notes yet?',
  'Yes, the new build is on the staging box.',
  'Nice. I will run the smoke tests after lunch.',
  'The WebSocket gateway handled the load test without a hiccup.',
  'Can someone review my pull request before five?',
  'On it.',
  'Coffee break in ten minutes?',
  'Count me in ☕',
  'The dashboards look green again.',
  'Thanks for the quick fix!',
  'Reminder: demo on Friday at 3 pm.',
];

export const CHANNELS = [
  {
    type: 'messaging',
    id: 'general',
    name: 'General',
    created_by: 'alice',
    members: ALL,
    history: LINES.map((text, i) => ({ user: ALL[i % ALL.length], text })),
    // A little life: reactions on one message, a thread on another.
    extras: {
      4: { reactions: [{ user: 'alice', type: 'love' }, { user: 'carol', type: 'like' }, { user: 'dave', type: 'fire' }] },
      5: {
        replies: [
          { user: 'bob', text: 'Sure, send me the link.' },
          { user: 'alice', text: 'Thanks! It is the one about the gateway.' },
        ],
      },
    },
  },
  {
    type: 'messaging',
    id: 'random',
    name: 'Random',
    created_by: 'bob',
    members: ['alice', 'bob', 'carol'],
    history: [
      { user: 'bob', text: 'Did you see the sunset yesterday?' },
      { user: 'carol', text: 'It was amazing 🌅' },
      { user: 'alice', text: 'I missed it, I was stuck in a meeting.' },
    ],
  },
  {
    // The long one: scroll back through 150 messages (the kit loads them 25 at a time).
    type: 'messaging',
    id: 'history',
    name: 'History',
    created_by: 'carol',
    members: ['alice', 'bob', 'carol', 'dave'],
    history: Array.from({ length: 150 }, (_, i) => ({
      user: ['carol', 'dave', 'alice', 'bob'][i % 4],
      text: `History message ${i + 1} of 150`,
    })),
  },
  {
    // A direct message: two members, no name (the kit shows the other member), distinct id.
    type: 'messaging',
    id: 'dm-alice-bob',
    created_by: 'alice',
    members: ['alice', 'bob'],
    history: [
      { user: 'alice', text: 'Hi Bob, got a minute?' },
      { user: 'bob', text: 'Sure, what is up?' },
    ],
  },
];

export const FIRST_HISTORY_MESSAGE = 'History message 1 of 150';
