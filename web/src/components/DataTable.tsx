import { Button, Table } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { sheetTime } from '../format';
import { useT } from '../i18n';
import { useProjectTimeZone } from '../project';

/** Quotes a CSV cell when it holds a separator, quote or line break. */
function csvCell(value: unknown): string {
  const text =
    value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: { title: string; key: string }[], rows: Record<string, unknown>[]): string {
  const lines = [columns.map((c) => csvCell(c.title)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c.key])).join(','));
  // The BOM makes Excel read UTF-8 (Chinese titles) correctly.
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export function downloadText(name: string, text: string, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

function withSheetTimes(row: Record<string, unknown>, keys: string[], timeZone: string | undefined) {
  const out = { ...row };
  for (const key of keys) {
    const at = row[key];
    if (typeof at === 'number' || (typeof at === 'string' && at !== '')) out[key] = sheetTime(at, timeZone);
  }
  return out;
}

/**
 * An antd table with a CSV export of exactly the rows and columns it shows: the rows' values, with
 * `timeColumns` (UTC ms or ISO text) as date and time in the project's time zone, not as numbers.
 */
export function DataTable<Row extends Record<string, unknown>>({
  columns,
  rows,
  name,
  rowKey,
  pageSize = 20,
  testId,
  onRow,
  onSort,
  timeColumns = [],
}: {
  columns: ColumnsType<Row>;
  rows: Row[];
  name: string;
  rowKey: string | ((row: Row) => string);
  pageSize?: number;
  testId?: string;
  onRow?: (row: Row) => { onClick?: () => void };
  /** Sorting done by the server: called with the column key and 'asc' | 'desc' (undefined: cleared). */
  onSort?: (key: string, direction: 'asc' | 'desc' | undefined) => void;
  timeColumns?: string[];
}) {
  const t = useT();
  const timeZone = useProjectTimeZone();
  const exportCsv = () => {
    const plain = columns
      .filter(
        (c): c is typeof c & { dataIndex: string } => 'dataIndex' in c && typeof c.dataIndex === 'string',
      )
      .map((c) => ({ title: String(c.title), key: c.dataIndex }));
    const sheetRows = timeColumns.length
      ? rows.map((row) => withSheetTimes(row, timeColumns, timeZone))
      : rows;
    downloadText(`${name}.csv`, toCsv(plain, sheetRows));
  };
  return (
    <div data-testid={testId}>
      <div style={{ textAlign: 'right', marginBottom: 8 }}>
        <Button size="small" onClick={exportCsv}>
          {t('action.exportCsv')}
        </Button>
      </div>
      <Table<Row>
        size="small"
        columns={columns}
        dataSource={rows}
        rowKey={rowKey}
        pagination={rows.length > pageSize ? { pageSize, showSizeChanger: false } : false}
        scroll={{ x: 'max-content' }}
        onRow={onRow}
        onChange={(_pagination, _filters, sorter) => {
          if (!onSort || Array.isArray(sorter)) return;
          const direction =
            sorter.order === 'ascend' ? 'asc' : sorter.order === 'descend' ? 'desc' : undefined;
          onSort(String(sorter.columnKey ?? sorter.field ?? ''), direction);
        }}
      />
    </div>
  );
}
