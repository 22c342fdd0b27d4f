/**
 * certfleet's one CSV writer (RFC 4180), for the device reports and `certfleet devices`.
 *
 * A field holding a comma, a double quote, CR or LF is quoted, its quotes doubled. A field a
 * spreadsheet would read as a formula (one starting with `=`, `+`, `-`, `@`, a tab or a
 * carriage return: OWASP's "CSV Injection" list) gets a leading single quote first, so a device
 * id or an issuer DN a device chose is shown as text and never evaluated. The quote is part of
 * the cell's text: a negative serial number `-5` reads `'-5`.
 */

/** RFC 4180's record separator. */
export const CSV_RECORD_END = '\r\n';

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export type CsvValue = string | number | boolean | null | undefined;

/** One field: empty for no value, neutralised when a spreadsheet would run it, quoted if need be. */
export function csvCell(value: CsvValue): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One record's fields joined by commas, without the record separator. */
export function csvRecord(values: readonly CsvValue[]): string {
  return values.map(csvCell).join(',');
}
