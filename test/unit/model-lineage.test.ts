import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codeRelease, codeVersion, headCommit } from '../../lib/cache/code-version';
import { modelLineage, specSha256 } from '../../lib/lineage/model-lineage';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';

const spec = parsePipelineSpec(JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights.json'), 'utf8')));

describe('model lineage', () => {
  test('records the data, transform, spec, code release, seeds and backend', () => {
    const lineage = modelLineage(spec, { datasetSha256: 'd'.repeat(64), transformSha256: 't'.repeat(64) }, 'wasm');
    expect(lineage).toMatchObject({
      datasetSha256: 'd'.repeat(64),
      transformSha256: 't'.repeat(64),
      specSha256: specSha256(spec),
      codeVersion: codeVersion(),
      packageVersion: (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version,
      seeds: { split: spec.split.seed, model: spec.model.seed },
      backend: 'wasm',
    });
    expect(lineage.gitCommit).toBe(codeRelease().gitCommit);
  });

  test('the spec hash follows the spec, not the order its JSON was written in', () => {
    const { model, ...rest } = spec;
    const reordered = parsePipelineSpec(JSON.parse(JSON.stringify({ model, ...rest })));
    expect(specSha256(reordered)).toBe(specSha256(spec));
    expect(specSha256({ ...spec, split: { ...spec.split, seed: spec.split.seed + 1 } })).not.toBe(specSha256(spec));
  });
});

describe('headCommit', () => {
  const sha = 'a'.repeat(40);
  const gitDir = (files: Record<string, string>): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pw-git-'));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    return dir;
  };

  test('reads a detached HEAD, a loose ref and a packed ref', () => {
    expect(headCommit(gitDir({ HEAD: `${sha}\n` }))).toBe(sha);
    expect(headCommit(gitDir({ HEAD: 'ref: refs/heads/main\n', 'refs/heads/main': `${sha}\n` }))).toBe(sha);
    const b = 'b'.repeat(40);
    expect(headCommit(gitDir({ HEAD: 'ref: refs/heads/main\n', 'packed-refs': `# pack-refs\n${sha} refs/heads/other\n${b} refs/heads/main\n` }))).toBe(b);
  });

  test('no checkout, no commit', () => {
    expect(headCommit(path.join(os.tmpdir(), 'no-such-git-dir'))).toBeUndefined();
  });
});
