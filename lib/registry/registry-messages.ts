/**
 * The registry's "not found" messages, which list what does exist so that the fix is in the message
 * (a typo in a model name, a version that is one past the latest).
 */

/** Sorted version numbers as ranges: [1, 2, 3, 5, 7, 8] → "1–3, 5, 7–8". */
export function versionRanges(versions: readonly number[]): string {
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** A list of names for a message: the first `limit`, then how many more. */
export function nameList(names: readonly string[], limit = 20): string {
  const shown = names.slice(0, limit).join(', ');
  return names.length > limit ? `${shown}, … ${names.length - limit} more` : shown;
}

export function noModelMessage(name: string, models: readonly string[]): string {
  return `no model named "${name}" (${models.length ? `models: ${nameList(models)}` : 'no models registered yet'})`;
}

export function noVersionMessage(name: string, version: number, versions: readonly number[]): string {
  return `model ${name} has no version ${version} (${versions.length ? `versions ${versionRanges(versions)}` : 'no versions yet'})`;
}

export function noAliasMessage(name: string, alias: string, aliases: readonly string[]): string {
  return `model ${name} has no alias "${alias}" (${aliases.length ? `aliases: ${nameList(aliases)}` : 'no aliases set'})`;
}
