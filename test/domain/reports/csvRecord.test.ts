import fc from 'fast-check';
import { CSV_RECORD_END, csvCell, csvRecord } from '../../../shared/domain/reports/csvRecord';
import {
  DEVICE_REPORT_COLUMNS,
  deviceReportCsvHeader,
  deviceReportCsvRecord,
  deviceReportRow,
} from '../../../shared/domain/reports/DeviceReportRow';
import { csvRow } from '../../../shared/cli/deviceCsv';
import { aDevice } from './reportFixtures';

/**
 * An RFC 4180 reader, written from the RFC's grammar for these tests: records end in CRLF,
 * fields are separated by commas, a quoted field may hold commas, CR, LF and doubled quotes.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i += 1;
            break;
          }
        } else field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '"' || text[i] === '\n') throw new Error(`bare ${text[i]} at ${i}`);
        field += text[i++];
      }
    }
    record.push(field);
    if (text[i] === ',') i += 1;
    else if (text.startsWith('\r\n', i)) {
      records.push(record);
      record = [];
      i += 2;
    } else if (i < text.length) throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
  }
  if (record.length > 0) records.push(record);
  return records;
}

/** What a spreadsheet would treat as a formula: the cell's first character. */
const FORMULA_START = /^[=+\-@\t\r]/;

describe('the CSV writer', () => {
  it.each([
    ['plain text', 'meter-7', 'meter-7'],
    ['a comma', 'CN=a, O=b', '"CN=a, O=b"'],
    ['a double quote', 'say "hi"', '"say ""hi"""'],
    ['a line feed', 'two\nlines', '"two\nlines"'],
    ['a carriage return inside', 'a\rb', '"a\rb"'],
    ['nothing', undefined, ''],
    ['null', null, ''],
    ['a number', 3, '3'],
  ])('writes a field with %s per RFC 4180', (_name, value, written) => {
    expect(csvCell(value)).toBe(written);
  });

  it.each([
    ['=HYPERLINK("http://evil.example","open")', `"'=HYPERLINK(""http://evil.example"",""open"")"`],
    ['+1+cmd', "'+1+cmd"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A9)', "'@SUM(A1:A9)"],
    ['\t=1', "'\t=1"],
    ['\r=1', `"'\r=1"`],
    ['=1,2', `"'=1,2"`],
  ])('neutralises %j with a leading quote so no spreadsheet evaluates it', (value, written) => {
    expect(csvCell(value)).toBe(written);
  });

  it('leaves a formula character that is not first as it is', () => {
    expect(csvCell('a=b+c')).toBe('a=b+c');
  });

  it('reads back every field as written, neutralised, for any text', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.string({ unit: 'grapheme' }),
            fc.constantFrom('=', '"', ',', '\r\n', '\r', '\n', '+', '-', '@', '\t'),
          ),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        (fields) => {
          const [read] = parseCsv(`${csvRecord(fields)}${CSV_RECORD_END}`);
          expect(read).toEqual(fields.map((f) => (FORMULA_START.test(f) ? `'${f}` : f)));
          for (const cell of read!) expect(cell).not.toMatch(FORMULA_START);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('a device report row in CSV', () => {
  it('puts hostile device ids and issuers in cells a spreadsheet shows as text', () => {
    const record = aDevice('=cmd+1', {
      certificate: {
        issuer: '@SUM(1+1)*cmd|" /C calc"!A0, O="Evil, Inc."',
        subject: '-2+3\r\n=HYPERLINK("x")',
      },
      cohort: '+line',
    });
    record.findings = [
      {
        code: 'chain-untrusted',
        severity: 'critical',
        message: 'm',
        detectedAt: '2026-11-01T00:00:00.000Z',
      },
    ];

    const [header, row] = parseCsv(
      `${deviceReportCsvHeader()}${CSV_RECORD_END}${deviceReportCsvRecord(deviceReportRow(record))}${CSV_RECORD_END}`,
    );

    expect(header).toEqual([...DEVICE_REPORT_COLUMNS]);
    const cell = (column: string) => row![DEVICE_REPORT_COLUMNS.indexOf(column as never)];
    expect(cell('deviceId')).toBe("'=cmd+1");
    expect(cell('issuer')).toBe(`'@SUM(1+1)*cmd|" /C calc"!A0, O="Evil, Inc."`);
    expect(cell('subject')).toBe(`'-2+3\r\n=HYPERLINK("x")`);
    expect(cell('cohort')).toBe("'+line");
    expect(cell('validUntil')).toBe('2027-06-01T00:00:00.000Z');
    expect(cell('findings')).toBe('chain-untrusted');
    expect(row).toHaveLength(DEVICE_REPORT_COLUMNS.length);
  });

  it('writes `certfleet devices` rows with the same writer', () => {
    const record = aDevice('=cmd', { certificate: { issuer: 'CN=a, O=b' } });

    const [row] = parseCsv(`${csvRow(record)}\r\n`);

    expect(row![1]).toBe("'=cmd");
    expect(row).toContain('CN=a, O=b');
  });
});
