/**
 * A tiny HTML builder whose interpolations are escaped unless they are already `Html`: every value
 * in a run report comes from user data (run ids, feature names, slice values), so escaping is the
 * default and trusting markup is the exception that has to be spelled out.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: the literal parts are markup, the interpolated values are text unless `Html`. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Markup produced by a trusted renderer (vega's SVG, which escapes the text it draws). */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** A table of text cells (or `Html` cells); numeric-looking columns align right through the `num` class. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly HtmlValue[]>, numericColumns: readonly number[] = []): Html {
  const cls = (c: number): Html => trusted(numericColumns.includes(c) ? ' class="num"' : '');
  return html`<table>
    <thead>
      <tr>
        ${headers.map((h, c) => html`<th${cls(c)}>${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (row) =>
          html`<tr>
            ${row.map((cell, c) => html`<td${cls(c)}>${cell}</td>`)}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** A short italic line saying why a section is missing. */
export function note(text: HtmlValue): Html {
  return html`<p class="note">${text}</p>`;
}
