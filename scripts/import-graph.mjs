// Prints the shape of src/'s import graph by top-level folder: which folders import each other (the direction with
// fewer imports counts as back-pointing), the folder cycles, and the imports that reach past the pipeline's public
// entry (src/pipeline/index.ts). ESLint's boundary rules hold these at zero; this script measures a tree, e.g.
// an older commit checked out elsewhere:   node scripts/import-graph.mjs [root]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const src = join(root, 'src');

/** @param {string} dir @returns {string[]} */
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level folder of a file under src/ (a file directly in src/ is its own "folder"). */
function folderOf(file) {
  const [first, ...rest] = relative(src, file).split(sep);
  return rest.length === 0 ? first.replace(/\.ts$/, '') : first;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/g;

/** Every relative import of src/, as [from file, to file]. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => [file, resolve(dirname(file), match[1].replace(/\.js$/, '.ts'))]);
}

const edges = sourceFiles(src).flatMap(importsOf);
const counts = new Map();
for (const [from, to] of edges) {
  const key = `${folderOf(from)}→${folderOf(to)}`;
  if (folderOf(from) !== folderOf(to)) counts.set(key, (counts.get(key) ?? 0) + 1);
}

const mutual = [];
for (const [key, forward] of counts) {
  const [a, b] = key.split('→');
  const backward = counts.get(`${b}→${a}`);
  if (backward !== undefined && a < b) mutual.push({ a, b, forward, backward });
}
const backPointing = mutual.reduce((sum, pair) => sum + Math.min(pair.forward, pair.backward), 0);

/** Folder cycles: strongly connected groups of more than one folder (Tarjan). */
function cycles() {
  const next = new Map();
  for (const key of counts.keys()) {
    const [a, b] = key.split('→');
    next.set(a, [...(next.get(a) ?? []), b]);
  }
  const index = new Map();
  const low = new Map();
  const stack = [];
  const found = [];
  let counter = 0;
  const visit = (node) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node), low.get(to)));
      } else if (stack.includes(to)) low.set(node, Math.min(low.get(node), index.get(to)));
    }
    if (low.get(node) !== index.get(node)) return;
    const group = [];
    let member;
    do {
      member = stack.pop();
      group.push(member);
    } while (member !== node);
    if (group.length > 1) found.push(group.sort());
  };
  for (const node of next.keys()) if (!index.has(node)) visit(node);
  return found;
}

const pipelineEntry = join(src, 'pipeline', 'index.ts');
const internal = edges.filter(([from, to]) => folderOf(from) !== 'pipeline' && folderOf(to) === 'pipeline' && to !== pipelineEntry);

console.log(`import graph of ${relative(process.cwd(), src) || src}: ${edges.length} relative imports`);
console.log(`back-pointing imports: ${backPointing}`);
for (const { a, b, forward, backward } of mutual) console.log(`  ${a} ⇄ ${b}: ${forward} / ${backward}`);
const found = cycles();
console.log(`folder cycles: ${found.length}`);
for (const group of found) console.log(`  ${group.join(', ')}`);
const paths = new Set(internal.map(([, to]) => relative(src, to)));
console.log(`imports into pipeline internals: ${internal.length} (${paths.size} paths)`);
for (const path of [...paths].sort()) console.log(`  ${path}`);
