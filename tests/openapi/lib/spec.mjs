// docs/openapi.yaml for the tests: its operations, matching a request path to one the way the
// router does (fcgi-app/router.cpp), and ajv validators of its response schemas.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SPEC_PATH = path.join(ROOT, 'docs/openapi.yaml');
export const spec = YAML.parse(fs.readFileSync(SPEC_PATH, 'utf8'));

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// "/api/channels/{type}/{id}/" -> "/api/channels/{}/{}/": parameter names may differ in spelling.
export const normalise = (pattern) => pattern.replace(/\{[^}/]*\}/g, '{}');

// Every described operation: { method: 'GET', path, operation, gateway } (gateway: served by
// streambed-gateway, not by the router).
export const operations = Object.entries(spec.paths).flatMap(([p, item]) =>
  METHODS.filter((m) => item[m]).map((m) => ({
    method: m.toUpperCase(),
    path: p,
    operation: item[m],
    gateway: item[m]['x-streambed-served-by'] === 'streambed-gateway',
  })),
);

const segmentsOf = (p) => p.replace(/^\//, '').split('/');
const isParam = (s) => s.length > 2 && s.startsWith('{') && s.endsWith('}');

// The described operation a request falls under, chosen as the router chooses (router.cpp): the
// same number of segments, literals equal, parameters non-empty, the method equal; the pattern
// with the most literals wins. Returns { path } for a match, { path: null, allowed: [methods] }
// when the path is described only with other methods (the router's 405), or null (its 404).
export function matchRequest(method, requestPath) {
  const parts = segmentsOf(requestPath).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  let best = null;
  let bestLiterals = -1;
  const allowed = new Set();
  for (const [p, item] of Object.entries(spec.paths)) {
    const segs = segmentsOf(p);
    if (segs.length !== parts.length) continue;
    let literals = 0;
    let ok = true;
    for (let i = 0; i < segs.length && ok; i++) {
      if (isParam(segs[i])) ok = parts[i] !== '';
      else {
        ok = segs[i] === parts[i];
        literals++;
      }
    }
    if (!ok) continue;
    if (!item[method.toLowerCase()]) {
      for (const m of METHODS) if (item[m]) allowed.add(m.toUpperCase());
      continue;
    }
    if (literals > bestLiterals) {
      best = { path: p };
      bestLiterals = literals;
    }
  }
  if (best) return best;
  return allowed.size ? { path: null, allowed: [...allowed] } : null;
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema(spec, 'openapi');

const escape = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const validators = new Map();

// The validator of one response's JSON body, or null when the status is not described (a JSON
// body that the description leaves without a schema is an error of the description: it throws).
export function responseValidator(p, method, status) {
  const key = `${method} ${p} ${status}`;
  if (validators.has(key)) return validators.get(key);
  const op = spec.paths[p]?.[method.toLowerCase()];
  let pointer = `/paths/${escape(p)}/${method.toLowerCase()}/responses/${status}`;
  let response = op?.responses?.[String(status)];
  if (!response) {
    validators.set(key, null);
    return null;
  }
  if (response.$ref) {
    pointer = response.$ref.replace(/^#/, '');
    response = response.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((o, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  if (!response.content?.['application/json']?.schema) throw new Error(`${key}: no application/json schema described`);
  const validate = ajv.getSchema(`openapi#${pointer}/content/application~1json/schema`);
  validators.set(key, validate);
  return validate;
}

// The error envelope's validator (for the router's own 404 and 405).
export const errorValidator = () => ajv.getSchema('openapi#/components/schemas/Error');
