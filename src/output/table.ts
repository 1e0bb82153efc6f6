/**
 * TTY-aware tables in the gh style: on a terminal, aligned columns with a bold
 * header (and colour where the caller asks for it); when piped, tab-separated
 * rows with no header and no colour, so `cut -f` and `awk -F'\t'` just work.
 */
export interface TableOptions {
  isTTY: boolean;
  /** Colour only when on a TTY and NO_COLOR is unset. */
  color: boolean;
}

export type Colorize = (text: string) => string;

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Applied on a colour terminal only, after padding is computed on the plain text. */
  color?: (row: T) => Colorize | undefined;
}

export function tableOptions(stream: {isTTY?: boolean}, env: Record<string, string | undefined>): TableOptions {
  const isTTY = Boolean(stream.isTTY);
  const color = isTTY && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  return {isTTY, color};
}

export function renderTable<T>(rows: T[], columns: Column<T>[], opts: TableOptions, bold?: Colorize): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  if (!opts.isTTY) return cells.map((line) => line.join('\t')).join('\n') + (cells.length ? '\n' : '');
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((line) => line[i].length)));
  const pad = (s: string, i: number) => (i === columns.length - 1 ? s : s.padEnd(widths[i]));
  const header = columns.map((c, i) => pad(c.header.toUpperCase(), i)).join('  ');
  const out = [opts.color && bold ? bold(header) : header];
  rows.forEach((r, ri) => {
    out.push(
      columns
        .map((c, i) => {
          const text = pad(cells[ri][i], i);
          const paint = opts.color ? c.color?.(r) : undefined;
          return paint ? paint(text) : text;
        })
        .join('  ')
        .trimEnd(),
    );
  });
  return out.join('\n') + '\n';
}
