// Builds webapp/static/designer/lib/ (modeler.js, viewer.js, dmn.js as ES modules, designer.css) from the npm packages (minified).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { rmSync } from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../webapp/static/designer/lib');
rmSync(out, { recursive: true, force: true }); // chunk names carry hashes: drop stale ones

await build({
  entryPoints: {
    modeler: path.join(here, 'src/modeler.js'),
    viewer: path.join(here, 'src/viewer.js'),
    dmn: path.join(here, 'src/dmn.js'),
  },
  bundle: true,
  minify: true,
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  target: ['es2020'],
  legalComments: 'linked',
  outdir: out,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'info',
});

await build({
  entryPoints: { designer: path.join(here, 'src/designer.css') },
  bundle: true,
  minify: true,
  outdir: out,
  loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.eot': 'dataurl', '.svg': 'dataurl' },
  logLevel: 'info',
});
