import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { PipelineInputError } from '../../errors';

/**
 * The files a source path names: the file itself, or every file a glob matches, in name order so
 * that partitions and row numbers do not depend on the order a directory lists them in.
 */
export async function sourceFiles(pattern: string): Promise<string[]> {
  if (!isDynamicPattern(pattern)) {
    const file = path.resolve(pattern);
    if (!existsSync(file)) throw new PipelineInputError(`source.path: ${file} does not exist; check the path (relative paths start at ${process.cwd()}).`);
    if (!statSync(file).isFile())
      throw new PipelineInputError(`source.path: ${file} is not a file; give a file or a glob such as ${path.join(pattern, '*.csv')}.`);
    return [file];
  }
  const files = (await glob(pattern, { absolute: true, onlyFiles: true })).sort();
  if (files.length === 0) {
    throw new PipelineInputError(`source.path: the glob "${pattern}" matches no file (relative paths start at ${process.cwd()}); check the pattern.`);
  }
  return files;
}
