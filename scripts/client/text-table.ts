/** Rows of cells as aligned text columns (two spaces apart); columns listed in `right` are right-aligned (numbers). Pure. */
export function textTable(rows: ReadonlyArray<ReadonlyArray<string>>, right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - [...cell].length);
        return right.has(i) ? pad + cell : i === row.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}
