import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheControlFor, IMMUTABLE, inlineScriptHashes, REVALIDATE, SHORT, styleAttributeHashes } from './web.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('cacheControlFor', () => {
  const root = '/srv/build';

  it('caches hashed files for a year, whichever twin is sent', () => {
    for (const file of [
      '_app/immutable/chunks/Ab12Cd34.js',
      '_app/immutable/assets/0.x.css.br',
      '_app/immutable/nodes/1.y.js.gz',
    ]) {
      expect(cacheControlFor(root, join(root, file)), file).toBe(IMMUTABLE);
    }
  });

  it('revalidates index.html and the version file, and keeps the unhashed files an hour', () => {
    expect(cacheControlFor(root, join(root, 'index.html.br'))).toBe(REVALIDATE);
    expect(cacheControlFor(root, join(root, '_app/version.json'))).toBe(REVALIDATE);
    expect(cacheControlFor(root, join(root, 'theme.css.gz'))).toBe(SHORT);
    expect(cacheControlFor(root, join(root, 'robots.txt'))).toBe(SHORT);
    // A file merely named like the folder is not in it.
    expect(cacheControlFor(root, join(root, '_app/immutable.js'))).toBe(SHORT);
  });
});

describe('styleAttributeHashes', () => {
  it('hashes each static style attribute of the templates once, and nothing dynamic', () => {
    const announcer = 'position: absolute; left: 0; top: 0; width: 1px; height: 1px';
    const chunks = [
      `var a=R('<div id="svelte-announcer" aria-live="assertive" style="${announcer}"><!></div>');`,
      `var b=R('<p style="${announcer}">again</p>'),c=R('<span class="x"></span>');`,
      // A template with an expression compiles to set_style (the CSSOM), not an attribute.
      'var d=R(\'<span style="width: {fill}%"></span>\');',
    ];
    expect(styleAttributeHashes(chunks)).toEqual([sha256(announcer)]);
    expect(styleAttributeHashes(['<div class="app-root"></div>'])).toEqual([]);
  });
});

describe('inlineScriptHashes', () => {
  it('hashes the body of each inline script, not the ones loaded by src', () => {
    const html = '<script src="/theme.js"></script><div><script>\n  kit.start();\n</script></div>';
    expect(inlineScriptHashes(html)).toEqual([sha256('\n  kit.start();\n')]);
  });
});
