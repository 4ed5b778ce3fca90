// docs/openapi.yaml and the router list the same routes (both directions), and the description
// passes redocly lint with the project's rules (redocly.yaml). Needs only the build, no stack.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, SPEC_PATH, normalise, operations, spec } from './lib/spec.mjs';

const BUILD_DIR = process.env.STREAMBED_BUILD_DIR ?? path.join(ROOT, 'build');

// "METHOD /pattern/" lines from the table the router matches against.
function routerRoutes() {
  const out = execFileSync(path.join(BUILD_DIR, 'fcgi-app/streambed-api'), ['routes'], {
    encoding: 'utf8',
    timeout: 10000,
    env: {},
  });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [method, pattern, ...rest] = line.split(' ');
      assert.equal(rest.length, 0, `unexpected line from streambed-api routes: ${line}`);
      return `${method} ${normalise(pattern)}`;
    });
}

const described = operations.filter((o) => !o.gateway).map((o) => `${o.method} ${normalise(o.path)}`);

test('streambed-api routes prints the route table', () => {
  const routes = routerRoutes();
  assert.ok(routes.length >= 80, `only ${routes.length} routes printed`);
  assert.equal(new Set(routes).size, routes.length, 'a route is listed twice');
  for (const r of routes) assert.match(r, /^(GET|POST|PUT|PATCH|DELETE) \/\S*\/$/);
});

test('every routed route is described in docs/openapi.yaml', () => {
  const missing = routerRoutes().filter((r) => !described.includes(r));
  assert.deepEqual(missing, [], `routes in fcgi-app/routes.cpp without a description:\n  ${missing.join('\n  ')}`);
});

test('every described route is routed', () => {
  const routes = new Set(routerRoutes());
  const extra = described.filter((d) => !routes.has(d));
  assert.deepEqual(extra, [], `operations in docs/openapi.yaml that no route serves:\n  ${extra.join('\n  ')}`);
});

test('the WebSocket upgrades are described, and only they are served by the gateway', () => {
  const gateway = operations.filter((o) => o.gateway).map((o) => `${o.method} ${o.path}`).sort();
  assert.deepEqual(gateway, ['GET /api/connect', 'GET /ws/{cid}/']);
  for (const o of operations.filter((x) => x.gateway)) assert.ok(o.operation.responses['101'], `${o.path}: no 101`);
});

test('every 4xx and 5xx response is the error envelope (the health report aside)', () => {
  const bad = [];
  for (const o of operations) {
    for (const [status, response] of Object.entries(o.operation.responses)) {
      if (!/^[45]/.test(status)) continue;
      const ref = response.$ref ?? '';
      const named = ref.replace('#/components/responses/', '');
      const schema = (named ? spec.components.responses[named] : response).content?.['application/json']?.schema;
      const isEnvelope = schema?.$ref === '#/components/schemas/Error';
      const isHealth = o.path === '/api/health/' && status === '503';
      if (!isEnvelope && !isHealth) bad.push(`${o.method} ${o.path} ${status}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('redocly lint passes with no errors and no warnings', () => {
  const bin = path.join(ROOT, 'tests/node_modules/.bin/redocly');
  const res = spawnSync(bin, ['lint', SPEC_PATH, '--config', path.join(ROOT, 'redocly.yaml'), '--format=stylish'], {
    encoding: 'utf8',
    timeout: 60000,
    cwd: ROOT,
    // Loopback only: no telemetry, no update check.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' },
  });
  // Without the boxed notices (redocly's Node.js deprecation banner says "warning").
  const output = `${res.stdout}\n${res.stderr}`
    .split('\n')
    .filter((line) => !/[║╔╚]/.test(line))
    .join('\n');
  assert.equal(res.status, 0, output);
  assert.doesNotMatch(output, /\b(errors?|warnings?)\b/i, output);
  assert.match(output, /API description is valid/, output);
});
