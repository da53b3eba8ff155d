import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';

/** Builders of export files as the platforms write them, for the import tests. */

/** Rows as CSV text (fields with commas, quotes or line breaks quoted). */
export function csvText(rows: Array<Array<string | number>>, delimiter = ','): string {
  const quote = (v: string | number) => {
    const s = String(v);
    return /[",\n\r\t]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${rows.map((r) => r.map(quote).join(delimiter)).join('\r\n')}\r\n`;
}

export function gbk(text: string): Buffer {
  return iconv.encode(text, 'gbk');
}

export function utf8Bom(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
}

/** A byte stream delivered in small chunks, so that parsers see characters and records split across chunks. */
export function chunked(bytes: Buffer, size = 7): AsyncIterable<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

/**
 * An XLSX workbook whose header spans two rows: group titles merged across columns above the
 * field names, and cells merged down over both rows (as creator-centre downloads are laid out).
 */
export async function twoRowHeaderXlsx(
  title: string,
  upper: Array<string | null>,
  lower: Array<string | null>,
  merges: string[],
  data: Array<Array<string | number | Date | null>>,
): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('数据');
  sheet.addRow([title]);
  sheet.addRow(upper);
  sheet.addRow(lower);
  for (const merge of merges) sheet.mergeCells(merge);
  for (const row of data) sheet.addRow(row);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
