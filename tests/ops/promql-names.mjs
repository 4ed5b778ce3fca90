// Checks that the PromQL of the alert rules and of the Grafana dashboard only uses metrics that
// docs/metrics.md documents, and writes every dashboard query as a recording rule so that
// `promtool check rules` parses each one. Used by tests/ops/check.
//   node promql-names.mjs <docs/metrics.md> <rules.yml> <dashboard.json> <out-rules.yml>
// Exits 1 with one line per problem.
import { readFileSync, writeFileSync } from 'node:fs';

const [docsPath, rulesPath, dashboardPath, outPath] = process.argv.slice(2);
const problems = [];

// Every metric name the documentation mentions.
const docs = readFileSync(docsPath, 'utf8');
const documented = new Set(docs.match(/\b(?:streambed|process)_[a-z0-9_]+\b/g) ?? []);
documented.add('up');  // Prometheus's own, per target

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless',
    'bool', 'offset', 'inf', 'nan', 'le']);

// The metric names a PromQL expression selects: what is left once strings, label matchers,
// ranges, grouping clauses, function names and keywords are taken out.
export function metricNames(expr) {
    let e = expr
        .replace(/\$__(rate_interval|interval|range)/g, '5m')
        .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
        .replace(/\{[^}]*\}/g, ' ')
        .replace(/\[[^\]]*\]/g, ' ')
        .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
    const names = [];
    for (const m of e.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
        const after = e.slice(m.index + m[0].length).trimStart();
        if (after.startsWith('(')) continue;  // a function
        if (KEYWORDS.has(m[0])) continue;
        names.push(m[0]);
    }
    return names;
}

function known(name) {
    if (documented.has(name)) return true;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return base !== name && documented.has(base);
}

function checkExpr(where, expr) {
    const names = metricNames(expr);
    if (names.length === 0) problems.push(`${where}: selects no metric: ${expr}`);
    for (const n of names) {
        if (!known(n)) problems.push(`${where}: ${n} is not documented in docs/metrics.md`);
    }
}

// --- Alert rules: the expr of each rule, inline or as a YAML block scalar --------------------
const ruleLines = readFileSync(rulesPath, 'utf8').split('\n');
let ruleCount = 0;
let currentAlert = '?';
for (let i = 0; i < ruleLines.length; i++) {
    const alert = ruleLines[i].match(/^\s*-?\s*(?:alert|record):\s*(\S+)/);
    if (alert) currentAlert = alert[1];
    const m = ruleLines[i].match(/^(\s*)expr:\s*(.*)$/);
    if (!m) continue;
    let expr = m[2];
    if (/^[|>]-?$/.test(expr.trim())) {
        const indent = m[1].length;
        const body = [];
        while (i + 1 < ruleLines.length &&
               (ruleLines[i + 1].trim() === '' || ruleLines[i + 1].search(/\S/) > indent)) {
            body.push(ruleLines[++i]);
        }
        expr = body.join('\n');
    }
    ruleCount++;
    checkExpr(`rule ${currentAlert}`, expr);
}
if (ruleCount === 0) problems.push(`${rulesPath}: no expr found`);

// --- Dashboard: every target of every panel (rows included) -------------------------------------
let dashboard;
try {
    dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8'));
} catch (e) {
    problems.push(`${dashboardPath}: not valid JSON: ${e.message}`);
}
const recordings = [];
if (dashboard) {
    if (!Array.isArray(dashboard.panels) || dashboard.panels.length === 0) problems.push('the dashboard has no panels');
    const ids = new Set();
    const walk = (panels) => {
        for (const p of panels ?? []) {
            if (ids.has(p.id)) problems.push(`panel id ${p.id} is used twice`);
            ids.add(p.id);
            if (p.type !== 'row' && (!Array.isArray(p.targets) || p.targets.length === 0)) {
                problems.push(`panel "${p.title}" has no query`);
            }
            for (const t of p.targets ?? []) {
                if (typeof t.expr !== 'string' || t.expr.trim() === '') {
                    problems.push(`panel "${p.title}" has a target without expr`);
                    continue;
                }
                checkExpr(`panel "${p.title}"`, t.expr);
                recordings.push(t.expr.replace(/\$__(rate_interval|interval|range)/g, '5m'));
            }
            walk(p.panels);
        }
    };
    walk(dashboard.panels);
}
const yaml = ['groups:', '  - name: dashboard', '    rules:'];
recordings.forEach((expr, i) => {
    yaml.push(`      - record: dashboard:query_${i}`);
    yaml.push(`        expr: ${JSON.stringify(expr)}`);
});
writeFileSync(outPath, yaml.join('\n') + '\n');

if (problems.length > 0) {
    for (const p of problems) console.log(p);
    process.exit(1);
}
console.log(`${ruleCount} rules and ${recordings.length} dashboard queries use documented metrics only`);
