// Builds the console into ../dist: the bundle (app.js, app.css), the pages,
// and LICENSES.txt with the licence of every package bundled. Run with
// `npm ci && npm run build`; the Go package embeds ../dist, which is
// committed.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src', 'app.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outdir: out,
  loader: { '.geojson': 'json' },
  legalComments: 'none',
  metafile: true,
  logLevel: 'info',
});
for (const f of await readdir(join(here, 'pages'))) {
  await copyFile(join(here, 'pages', f), join(out, f));
}

// The licences of the bundled packages, from their own LICENSE files.
const pkgs = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) pkgs.add(m[1]);
}
let text = 'Third-party software bundled in app.js\n';
for (const name of [...pkgs].sort()) {
  const dir = join(here, 'node_modules', name);
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  const file = (await readdir(dir)).find((f) => /^(licen[cs]e|copying)/i.test(f));
  text += `\n=== ${name} ${pkg.version} (${pkg.license}) ===\n\n`;
  text += file ? (await readFile(join(dir, file), 'utf8')).trim() + '\n' : '(no licence file in the package)\n';
}
await writeFile(join(out, 'LICENSES.txt'), text);
